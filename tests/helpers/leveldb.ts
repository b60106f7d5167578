/**
 * Readers of LevelDB's on-disk formats (https://github.com/google/leveldb/blob/main/doc/table_format.md and
 * log_format.md), enough to look inside dynalite's files: table files (`.ldb`, `.sst`) whose blocks are
 * snappy-compressed and whose keys are prefix-compressed, and log files (`.log`, `MANIFEST-*`) whose records
 * are cut into 32 KB blocks. A raw byte scan of either can miss a string that is there.
 */

/** A varint (LEB128, at most 64 bits as a JS number) at `at`; its value and the offset after it. */
function varint(buf: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length; i++) {
    const byte = buf[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, i + 1];
    shift += 7;
    if (shift > 63) break;
  }
  throw new Error(`bad varint at ${at}`);
}

/**
 * Raw snappy (https://github.com/google/snappy/blob/main/format_description.txt): the uncompressed
 * length as a varint, then elements: a literal (tag ..00, its length in the tag or the 1-4 bytes after it)
 * or a copy of earlier output (tag ..01: 1-byte offset, ..10: 2-byte, ..11: 4-byte), which may overlap itself.
 */
export function snappyUncompress(input: Uint8Array): Buffer {
  const [length, start] = varint(input, 0);
  const out = Buffer.alloc(length);
  let o = 0;
  let i = start;
  while (i < input.length) {
    const tag = input[i++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const bytes = len - 59;
        len = 0;
        for (let b = 0; b < bytes; b++) len += input[i + b]! * 2 ** (8 * b);
        i += bytes;
      }
      len += 1;
      if (i + len > input.length || o + len > length) throw new Error('snappy: literal past the end');
      out.set(input.subarray(i, i + len), o);
      i += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      len = 4 + ((tag >> 2) & 7);
      offset = ((tag >> 5) << 8) | input[i++]!;
    } else if (kind === 2) {
      len = (tag >> 2) + 1;
      offset = input[i]! | (input[i + 1]! << 8);
      i += 2;
    } else {
      len = (tag >> 2) + 1;
      offset = input[i]! + input[i + 1]! * 2 ** 8 + input[i + 2]! * 2 ** 16 + input[i + 3]! * 2 ** 24;
      i += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new Error('snappy: copy out of range');
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new Error(`snappy: ${o} bytes of ${length}`);
  return out;
}

export interface Entry {
  key: Buffer;
  value: Buffer;
}

const TABLE_MAGIC = Buffer.from([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);

/** A block's contents (its 5-byte trailer says how it is compressed: 0 none, 1 snappy). */
function readBlock(file: Buffer, offset: number, size: number): Buffer {
  const contents = file.subarray(offset, offset + size);
  const type = file[offset + size];
  if (type === 0) return contents;
  if (type === 1) return snappyUncompress(contents);
  throw new Error(`block at ${offset}: compression type ${type} not read`);
}

/** A block's entries, keys whole again (each stores only what differs from the key before it). */
function blockEntries(block: Buffer): Entry[] {
  const restarts = block.readUInt32LE(block.length - 4);
  const end = block.length - 4 - 4 * restarts;
  const out: Entry[] = [];
  let key = Buffer.alloc(0);
  for (let at = 0; at < end; ) {
    const [shared, a] = varint(block, at);
    const [unshared, b] = varint(block, a);
    const [valueLength, c] = varint(block, b);
    key = Buffer.concat([key.subarray(0, shared), block.subarray(c, c + unshared)]);
    out.push({ key, value: block.subarray(c + unshared, c + unshared + valueLength) });
    at = c + unshared + valueLength;
  }
  return out;
}

/** Every entry of a table file's data blocks (internal keys: the user key, then 8 bytes of sequence and type). */
export function tableEntries(file: Buffer): Entry[] {
  if (file.length < 48 || !file.subarray(file.length - 8).equals(TABLE_MAGIC)) throw new Error('not a LevelDB table');
  const footer = file.subarray(file.length - 48);
  const [, a] = varint(footer, 0); // the metaindex handle: filter blocks hold no data
  const [, b] = varint(footer, a);
  const [indexOffset, c] = varint(footer, b);
  const [indexSize] = varint(footer, c);
  return blockEntries(readBlock(file, indexOffset, indexSize)).flatMap(({ value: handle }) => {
    const [offset, next] = varint(handle, 0);
    const [size] = varint(handle, next);
    return blockEntries(readBlock(file, offset, size));
  });
}

const LOG_BLOCK = 32_768;
const LOG_HEADER = 7;

/** A log file's records, their fragments joined (a record spanning blocks is cut by each block's 7-byte headers). */
export function logRecords(file: Buffer): Buffer[] {
  const records: Buffer[] = [];
  let pending: Buffer[] = [];
  for (let at = 0; at + LOG_HEADER <= file.length; ) {
    const left = LOG_BLOCK - (at % LOG_BLOCK);
    if (left < LOG_HEADER) {
      at += left; // the block's trailer: zeroes
      continue;
    }
    const length = file.readUInt16LE(at + 4);
    const type = file[at + 6]!;
    const data = file.subarray(at + LOG_HEADER, at + LOG_HEADER + length);
    at += LOG_HEADER + length;
    if (type === 0) continue; // preallocated or padding
    if (type === 1) records.push(data);
    else if (type === 2) pending = [data];
    else if (type === 3) pending.push(data);
    else if (type === 4) {
      records.push(Buffer.concat([...pending, data]));
      pending = [];
    }
  }
  if (pending.length > 0) records.push(Buffer.concat(pending));
  return records;
}

/** The puts and deletions of a write batch (a log record of a `.log`): 8 bytes sequence, 4 count, then entries. */
export function batchEntries(record: Buffer): Entry[] {
  const out: Entry[] = [];
  for (let at = 12; at < record.length; ) {
    const tag = record[at++]!;
    const [keyLength, a] = varint(record, at);
    const key = record.subarray(a, a + keyLength);
    at = a + keyLength;
    if (tag === 1) {
      const [valueLength, b] = varint(record, at);
      out.push({ key, value: record.subarray(b, b + valueLength) });
      at = b + valueLength;
    } else if (tag === 0) out.push({ key, value: Buffer.alloc(0) });
    else throw new Error(`write batch: tag ${tag}`);
  }
  return out;
}
