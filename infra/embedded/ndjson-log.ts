import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A list kept as newline-delimited JSON in the data folder (the outbox, the dead letters): appended one
 * line per entry, rewritten whole when entries leave it (erasure, a redrive). Entries carry numbered ids
 * that keep increasing across restarts: a rewrite starts with a `{"lastSeq":N}` line, so an id is never
 * handed out twice even when the newest entries were removed.
 */
export class NdjsonLog<T> {
  readonly #file: string | undefined;
  #lastSeq = 0;

  /** `seqOf`: the number in an entry's id (undefined when it has none). */
  constructor(
    file: string | undefined,
    private readonly seqOf: (entry: T) => number | undefined,
  ) {
    this.#file = file;
    if (file) mkdirSync(dirname(file), { recursive: true });
  }

  /** The entries in the file (empty without one), and from now on ids go on after the highest seen. */
  load(): T[] {
    if (!this.#file || !existsSync(this.#file)) return [];
    const entries: T[] = [];
    readFileSync(this.#file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line === '') return;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (error) {
          throw new Error(`${this.#file}:${i + 1}: not a JSON line (${(error as Error).message})`, { cause: error });
        }
        const header = value as { lastSeq?: unknown };
        if (i === 0 && typeof header.lastSeq === 'number' && Object.keys(header).length === 1) {
          this.#lastSeq = Math.max(this.#lastSeq, header.lastSeq);
          return;
        }
        entries.push(value as T);
        this.#lastSeq = Math.max(this.#lastSeq, this.seqOf(value as T) ?? 0);
      });
    return entries;
  }

  /** The next id's number. */
  next(): number {
    return ++this.#lastSeq;
  }

  append(entry: T): void {
    if (this.#file) appendFileSync(this.#file, `${JSON.stringify(entry)}\n`);
  }

  /** Replace the file's entries (atomically: a crash leaves the old file or the new one). */
  rewrite(entries: readonly T[]): void {
    if (!this.#file) return;
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, [{ lastSeq: this.#lastSeq }, ...entries].map((e) => `${JSON.stringify(e)}\n`).join(''));
    renameSync(tmp, this.#file);
  }
}

/** The number at the end of an id such as `outbox-12` or `dl-3`. */
export function idNumber(id: unknown): number | undefined {
  const match = typeof id === 'string' ? /-(\d+)$/.exec(id) : null;
  return match ? Number(match[1]) : undefined;
}
