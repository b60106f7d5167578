import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/**
 * Where each bus rule is in the bus log: a low-water mark of sequence numbers,
 * every event at or below it has finished its delivery to the rule (handled, or
 * dead-lettered). Deliveries run concurrently and finish in any order, so a
 * rule's cursor is just below its oldest delivery still in flight, or the log's
 * last sequence number when none is.
 *
 * Kept in `<file>` (one small JSON object, replaced atomically), written at
 * most every `flushEveryMs` and when the bus drains: a cursor on disk may lag
 * (those events are delivered again after a crash: at least once), never lead.
 */
export class DeliveryCursors {
  readonly #file: string | undefined;
  readonly #flushEveryMs: number;
  /** Per rule: sequence numbers in flight, with how many deliveries of each. */
  readonly #inFlight = new Map<string, Map<number, number>>();
  #stored: Record<string, number>;
  #written = '';
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  readonly #current: () => { rules: readonly string[]; lastSeq: number };

  /** `current`: the bus's rules and its last sequence number, read when the cursors are written. */
  constructor(options: { file?: string; flushEveryMs?: number; current: () => { rules: readonly string[]; lastSeq: number } }) {
    this.#file = options.file;
    this.#current = options.current;
    this.#flushEveryMs = options.flushEveryMs ?? 100;
    this.#stored = this.#file && existsSync(this.#file) ? parseCursors(readFileSync(this.#file, 'utf8'), this.#file) : {};
  }

  /** The cursor stored for a rule by an earlier run, if any. */
  stored(rule: string): number | undefined {
    return this.#stored[rule];
  }

  /** The highest cursor stored: sequence numbers must go on above it (the log's tail may have been erased). */
  get highest(): number {
    return Math.max(0, ...Object.values(this.#stored));
  }

  begin(rule: string, seq: number): void {
    if (!this.#file) return; // an in-memory bus has nothing to resume
    let seqs = this.#inFlight.get(rule);
    if (!seqs) this.#inFlight.set(rule, (seqs = new Map()));
    seqs.set(seq, (seqs.get(seq) ?? 0) + 1);
  }

  end(rule: string, seq: number): void {
    if (!this.#file) return;
    const seqs = this.#inFlight.get(rule);
    const n = seqs?.get(seq) ?? 0;
    if (n > 1) seqs!.set(seq, n - 1);
    else seqs?.delete(seq);
    this.#schedule();
  }

  /**
   * A rule removed while the engine runs (a journey a reload removed): its stored place is dropped, so a rule added
   * again under the name, now or at a later start, begins at the end of the log (an added journey starts now) rather
   * than being handed what was logged while it was away. Deliveries under way finish; their ends move nothing.
   */
  forget(rule: string): void {
    delete this.#stored[rule];
    this.#inFlight.delete(rule);
    this.#schedule();
  }

  /** Each rule's low-water mark, given the log's last sequence number. */
  positions(rules: readonly string[], lastSeq: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const rule of rules) {
      let oldest = Infinity;
      for (const seq of this.#inFlight.get(rule)?.keys() ?? []) if (seq < oldest) oldest = seq;
      out[rule] = oldest === Infinity ? lastSeq : oldest - 1;
    }
    return out;
  }

  /** Write the cursors now (when they changed). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#file || this.#closed) return;
    const { rules, lastSeq } = this.#current();
    // Rules of an earlier run that this one does not have (a journey removed) keep their place.
    const text = JSON.stringify({ ...this.#stored, ...this.positions(rules, lastSeq) });
    if (text === this.#written) return;
    const tmp = `${this.#file}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.#file);
    this.#written = text;
  }

  /** No more writes (the engine stopped; its data folder may go). */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#timer || !this.#file || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.flush();
      } catch (error) {
        // A lagging cursor only means more redelivery after a crash.
        console.error('bus: writing the delivery cursors failed:', error);
      }
    }, this.#flushEveryMs);
    this.#timer.unref();
  }
}

function parseCursors(text: string, file: string): Record<string, number> {
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file}: expected an object of rule name to sequence number`);
  for (const [rule, seq] of Object.entries(value)) {
    if (!Number.isSafeInteger(seq) || (seq as number) < 0) throw new Error(`${file}: the cursor of rule ${JSON.stringify(rule)} must be a sequence number (integer >= 0), got ${JSON.stringify(seq)}`);
  }
  return value as Record<string, number>;
}
