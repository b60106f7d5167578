/** Small text helpers for messages a marketer reads. */

export type PathSegment = string | number;

/** `["tags", 1, "when", "all", 0, "within"]` -> `tags[1].when.all[0].within`; `(root)` for the empty path. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(root)' : out;
}

/** A value as the YAML author wrote it: `"30 days"`, `12`, `a list`, `a mapping`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return String(value);
}

/** `a, b, c` for a list of names. */
export function nameList(names: readonly string[]): string {
  return names.join(', ');
}

/** The candidate closest to `word` (case-insensitive edit distance), when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const folded = fold(word);
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = editDistance(folded, fold(name));
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  const allowed = Math.max(1, Math.floor(folded.length / 4));
  return best !== undefined && best.distance <= allowed ? best.name : undefined;
}

/** ` (did you mean "stat"?)` or nothing. */
export function didYouMean(word: unknown, candidates: readonly string[]): string {
  const hint = suggestion(word, candidates);
  return hint === '' ? '' : ` (${hint.trim()})`;
}

/** `did you mean "stat"? ` (with a trailing space) or nothing. */
export function suggestion(word: unknown, candidates: readonly string[]): string {
  const match = typeof word === 'string' ? closest(word, candidates) : undefined;
  return match === undefined || match === word ? '' : `did you mean "${match}"? `;
}

/** Lower case without spaces, dashes or underscores: `Order_Completed` and `order completed` fold alike. */
export function fold(text: string): string {
  return text.toLowerCase().replace(/[\s_-]+/g, '');
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
