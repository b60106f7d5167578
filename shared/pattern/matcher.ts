/**
 * EventBridge content filtering as a pure function: `matchesEventPattern(pattern, event)`.
 *
 * The semantics follow the EventBridge user guide ("Creating event patterns",
 * "Comparison operators", "Arrays", "Null values and empty strings") and, where the
 * guide is silent, Event Ruler (aws/event-ruler), the library EventBridge matches with:
 *
 * - A pattern is an object. Every key must match (AND). A key's value is either a
 *   nested object (matched against the nested event field) or a non-empty array of
 *   values, which matches if ANY value matches (OR).
 * - Matching looks at leaf values only. An event array is "crushed": the pattern
 *   matches if any element matches; arrays of arrays are flattened. A nested pattern
 *   object applied to an array of objects must match within ONE element (Event Ruler's
 *   array consistency), so `{ items: { sku: ["A"], qty: [2] } }` needs one item with both.
 * - Exact values: strings, numbers (compared numerically: 300 matches 3.0e2), booleans
 *   and null. A string never matches a number ("5" is not 5); null is not "".
 * - Operators (one key per object inside a value array): prefix, suffix (both also with
 *   `{ "equals-ignore-case": ... }`), equals-ignore-case, wildcard, anything-but,
 *   numeric, exists, cidr. `$or` (an array of at least two sub-patterns) may appear at
 *   any object level.
 *
 * Call `validateEventPattern` (validate.ts) on patterns from outside the code base;
 * this matcher does not throw on malformed patterns, the malformed part just never
 * matches.
 */

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/** A JSON leaf value, as found in events and as exact values in patterns. */
export type JsonScalar = string | number | boolean | null;

export type NumericOperator = '=' | '<' | '<=' | '>' | '>=';

/** `["=", 5]`, `["<", 10]`, `[">", 0, "<=", 5]`: one comparison or a lower then an upper bound. */
export type NumericCondition = readonly (NumericOperator | number)[];

export interface EqualsIgnoreCase {
  readonly 'equals-ignore-case': string;
}

export type AnythingButCondition =
  | string
  | number
  | readonly string[]
  | readonly number[]
  | { readonly prefix: string | readonly string[] }
  | { readonly suffix: string | readonly string[] }
  | { readonly wildcard: string | readonly string[] }
  | { readonly 'equals-ignore-case': string | readonly string[] };

/** An operator object inside a pattern value array, e.g. `{ "prefix": "us-" }`. */
export type MatchOperator =
  | { readonly prefix: string | EqualsIgnoreCase }
  | { readonly suffix: string | EqualsIgnoreCase }
  | { readonly 'equals-ignore-case': string }
  | { readonly wildcard: string }
  | { readonly 'anything-but': AnythingButCondition }
  | { readonly numeric: NumericCondition }
  | { readonly exists: boolean }
  | { readonly cidr: string };

export type PatternValue = JsonScalar | MatchOperator;

/** The OR-list at a pattern leaf: `["a", { "prefix": "b" }]`. */
export type PatternValues = readonly PatternValue[];

/**
 * An EventBridge event pattern. Each key maps to a value list, a nested pattern or,
 * for the key `$or`, a list of alternative sub-patterns.
 */
export interface EventPattern {
  readonly [field: string]: PatternValues | EventPattern | readonly EventPattern[];
}

export const OPERATOR_NAMES = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
] as const;

export type OperatorName = (typeof OPERATOR_NAMES)[number];

/** The key that introduces alternatives: `{ "$or": [ {...}, {...} ] }`. */
export const OR_KEY = '$or';

/**
 * EventBridge compares numbers within ±5e9 only (Event Ruler's ComparableNumber);
 * numeric operators never match event numbers outside this range, and patterns may
 * not use bounds outside it.
 */
export const NUMERIC_LIMIT = 5e9;

/** Result of parsing an operator's argument: the parsed form, or why it is invalid. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

type JsonRecord = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------------------
// Type guards
// ---------------------------------------------------------------------------

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}

export function isScalar(value: unknown): value is JsonScalar {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

export function isOperatorName(name: string): name is OperatorName {
  return (OPERATOR_NAMES as readonly string[]).includes(name);
}

function isStringList(value: unknown): value is readonly string[] {
  return isArray(value) && value.every((item) => typeof item === 'string');
}

function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${String(value)}`);
}

/** `{ "prefix": "a" }` -> `{ name: "prefix", arg: "a" }`; undefined unless exactly one key, a known operator. */
function readOperator(value: JsonRecord): { name: OperatorName; arg: unknown } | undefined {
  const entries = Object.entries(value);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) return undefined;
  const [name, arg] = entry;
  return isOperatorName(name) ? { name, arg } : undefined;
}

// ---------------------------------------------------------------------------
// Public entry point
// ---------------------------------------------------------------------------

/** True when `event` matches `pattern` under EventBridge's content-filtering rules. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return matchesNested(pattern, event);
}

// ---------------------------------------------------------------------------
// Structure: objects, $or, arrays
// ---------------------------------------------------------------------------

const NO_FIELDS: JsonRecord = Object.freeze({});

/**
 * A pattern object against an event value. An object is matched directly; an array
 * is matched element by element (any element, array consistency). Anything else has
 * no fields, so only absence checks (`exists: false`) can succeed against it.
 */
function matchesNested(pattern: JsonRecord, eventValue: unknown): boolean {
  const candidates = objectsIn(eventValue);
  return (candidates.length > 0 ? candidates : [NO_FIELDS]).some((candidate) => matchesFields(pattern, candidate));
}

function objectsIn(value: unknown): JsonRecord[] {
  if (isRecord(value)) return [value];
  if (isArray(value)) return value.flatMap(objectsIn);
  return [];
}

/** AND over the pattern's keys, all evaluated against the same event object. */
function matchesFields(pattern: JsonRecord, event: JsonRecord): boolean {
  return Object.entries(pattern).every(([key, node]) => matchesField(key, node, event));
}

function matchesField(key: string, node: unknown, event: JsonRecord): boolean {
  if (key === OR_KEY && isArray(node)) {
    return node.filter(isRecord).some((branch) => matchesFields(branch, event));
  }
  const eventValue = Object.hasOwn(event, key) ? event[key] : undefined;
  if (isArray(node)) return matchesValueList(node, leafValues(eventValue));
  if (isRecord(node)) return matchesNested(node, eventValue);
  return false;
}

/** The leaf values of an event field: a scalar, or the scalars of a (nested) array. Objects are not leaves. */
function leafValues(value: unknown): JsonScalar[] {
  if (isScalar(value)) return [value];
  if (isArray(value)) return value.flatMap(leafValues);
  return [];
}

/** OR over the pattern's value list. */
function matchesValueList(values: readonly unknown[], leaves: readonly JsonScalar[]): boolean {
  return values.some((value) => {
    if (isScalar(value)) return leaves.some((leaf) => matchesExact(value, leaf));
    if (!isRecord(value)) return false;
    const operator = readOperator(value);
    return operator !== undefined && matchesOperator(operator.name, operator.arg, leaves);
  });
}

function matchesOperator(name: OperatorName, arg: unknown, leaves: readonly JsonScalar[]): boolean {
  switch (name) {
    case 'prefix':
    case 'suffix':
      return matchesAffix(name, arg, leaves);
    case 'equals-ignore-case':
      return matchesEqualsIgnoreCase(arg, leaves);
    case 'wildcard':
      return matchesWildcardOperator(arg, leaves);
    case 'anything-but':
      return matchesAnythingBut(arg, leaves);
    case 'numeric':
      return matchesNumeric(arg, leaves);
    case 'exists':
      return matchesExists(arg, leaves);
    case 'cidr':
      return matchesCidr(arg, leaves);
    default:
      return assertNever(name);
  }
}

/**
 * Checks an operator's argument, for the validator. Returns why it is invalid, or
 * undefined when it is valid.
 */
export function operatorArgumentProblem(name: OperatorName, arg: unknown): string | undefined {
  const parsed = ((): Parsed<unknown> => {
    switch (name) {
      case 'prefix':
      case 'suffix':
        return parseAffix(name, arg);
      case 'equals-ignore-case':
        return parseEqualsIgnoreCase(arg);
      case 'wildcard':
        return parseWildcard(arg);
      case 'anything-but':
        return parseAnythingBut(arg);
      case 'numeric':
        return parseNumericCondition(arg);
      case 'exists':
        return parseExists(arg);
      case 'cidr':
        return parseCidr(arg);
      default:
        return assertNever(name);
    }
  })();
  return parsed.ok ? undefined : parsed.reason;
}

// ---------------------------------------------------------------------------
// Exact values
// ---------------------------------------------------------------------------

/**
 * Same type and value. Numbers compare numerically (300 === 3.0e2 once parsed).
 * Two strings that are both IP addresses compare as addresses, as Event Ruler does
 * (`"2001:db8::1"` matches `"2001:0db8:0:0:0:0:0:1"`).
 */
function matchesExact(expected: JsonScalar, actual: JsonScalar): boolean {
  if (typeof expected === 'string' && typeof actual === 'string') {
    return expected === actual || sameIpAddress(expected, actual);
  }
  return expected === actual;
}

function sameIpAddress(a: string, b: string): boolean {
  const first = parseIpAddress(a);
  const second = parseIpAddress(b);
  return first !== undefined && second !== undefined && first.family === second.family && first.value === second.value;
}

// ---------------------------------------------------------------------------
// prefix / suffix (optionally ignoring case) and equals-ignore-case
// ---------------------------------------------------------------------------

export interface AffixCondition {
  readonly text: string;
  readonly ignoreCase: boolean;
}

export function parseAffix(name: 'prefix' | 'suffix', arg: unknown): Parsed<AffixCondition> {
  if (typeof arg === 'string') return ok({ text: arg, ignoreCase: false });
  if (isRecord(arg)) {
    const keys = Object.keys(arg);
    const inner = arg['equals-ignore-case'];
    if (keys.length === 1 && typeof inner === 'string') return ok({ text: inner, ignoreCase: true });
    if (keys.length === 1 && keys[0] === 'equals-ignore-case') {
      return fail(`${name} {"equals-ignore-case": ...} expects a string`);
    }
    return fail(`${name} only accepts {"equals-ignore-case": "..."} as an object, got keys ${quoteList(keys)}`);
  }
  return fail(`${name} operator expects a string or {"equals-ignore-case": "..."}, got ${describe(arg)}`);
}

function matchesAffix(name: 'prefix' | 'suffix', arg: unknown, leaves: readonly JsonScalar[]): boolean {
  const parsed = parseAffix(name, arg);
  if (!parsed.ok) return false;
  const { text, ignoreCase } = parsed.value;
  const wanted = ignoreCase ? foldCase(text) : text;
  return leaves.some((leaf) => {
    if (typeof leaf !== 'string') return false;
    const actual = ignoreCase ? foldCase(leaf) : leaf;
    return name === 'prefix' ? actual.startsWith(wanted) : actual.endsWith(wanted);
  });
}

export function parseEqualsIgnoreCase(arg: unknown): Parsed<string> {
  return typeof arg === 'string' ? ok(arg) : fail(`equals-ignore-case operator expects a string, got ${describe(arg)}`);
}

function matchesEqualsIgnoreCase(arg: unknown, leaves: readonly JsonScalar[]): boolean {
  const parsed = parseEqualsIgnoreCase(arg);
  return parsed.ok && leaves.some((leaf) => typeof leaf === 'string' && equalsIgnoringCase(leaf, parsed.value));
}

function foldCase(text: string): string {
  return text.toLowerCase();
}

function equalsIgnoringCase(a: string, b: string): boolean {
  return foldCase(a) === foldCase(b);
}

// ---------------------------------------------------------------------------
// wildcard
// ---------------------------------------------------------------------------

/** A wildcard is a list of literal characters and `ANY_RUN` (an unescaped `*`: zero or more characters). */
export const ANY_RUN: unique symbol = Symbol('*');
export type WildcardToken = string | typeof ANY_RUN;

/**
 * `*` matches any run of characters (including none); `\*` is a literal asterisk and
 * `\\` a literal backslash. Event Ruler rejects `**` and any other escape.
 */
export function parseWildcard(arg: unknown): Parsed<readonly WildcardToken[]> {
  if (typeof arg !== 'string') return fail(`wildcard operator expects a string like "dir/*.png", got ${describe(arg)}`);
  const tokens: WildcardToken[] = [];
  for (let i = 0; i < arg.length; i++) {
    const char = arg.charAt(i);
    if (char === '*') {
      if (arg.charAt(i + 1) === '*') return fail(`wildcard ${JSON.stringify(arg)} has consecutive "*" at position ${i}`);
      tokens.push(ANY_RUN);
    } else if (char === '\\') {
      const next = arg.charAt(i + 1);
      if (next !== '*' && next !== '\\') {
        return fail(
          `wildcard ${JSON.stringify(arg)} has an invalid escape at position ${i}: only \\* and \\\\ are allowed`,
        );
      }
      tokens.push(next);
      i++;
    } else {
      tokens.push(char);
    }
  }
  return ok(tokens);
}

/** Linear-time glob matching (greedy with backtracking to the last `*`), no regular expressions. */
export function wildcardMatches(tokens: readonly WildcardToken[], text: string): boolean {
  let t = 0;
  let p = 0;
  let lastStar = -1;
  let resumeAt = 0;
  while (t < text.length) {
    const token = tokens[p];
    if (token === ANY_RUN) {
      lastStar = p++;
      resumeAt = t;
    } else if (token !== undefined && token === text.charAt(t)) {
      p++;
      t++;
    } else if (lastStar >= 0) {
      p = lastStar + 1;
      t = ++resumeAt;
    } else {
      return false;
    }
  }
  while (tokens[p] === ANY_RUN) p++;
  return p === tokens.length;
}

function matchesWildcardOperator(arg: unknown, leaves: readonly JsonScalar[]): boolean {
  const parsed = parseWildcard(arg);
  return parsed.ok && leaves.some((leaf) => typeof leaf === 'string' && wildcardMatches(parsed.value, leaf));
}

// ---------------------------------------------------------------------------
// anything-but
// ---------------------------------------------------------------------------

export type AnythingBut =
  | { readonly kind: 'values'; readonly strings: readonly string[]; readonly numbers: readonly number[] }
  | { readonly kind: 'prefix' | 'suffix' | 'equals-ignore-case'; readonly texts: readonly string[] }
  | { readonly kind: 'wildcard'; readonly wildcards: readonly (readonly WildcardToken[])[] };

const ANYTHING_BUT_OPERATORS = ['prefix', 'suffix', 'wildcard', 'equals-ignore-case'] as const;
type AnythingButOperator = (typeof ANYTHING_BUT_OPERATORS)[number];

function isAnythingButOperator(name: string): name is AnythingButOperator {
  return (ANYTHING_BUT_OPERATORS as readonly string[]).includes(name);
}

const ANYTHING_BUT_SHAPES =
  'a string, a number, a list of only strings or only numbers, or an object with one of "prefix", "suffix", "wildcard", "equals-ignore-case"';

export function parseAnythingBut(arg: unknown): Parsed<AnythingBut> {
  if (typeof arg === 'string') return ok({ kind: 'values', strings: [arg], numbers: [] });
  if (typeof arg === 'number') {
    const problem = numberProblem('anything-but', arg);
    return problem ? fail(problem) : ok({ kind: 'values', strings: [], numbers: [arg] });
  }
  if (isArray(arg)) return parseAnythingButList(arg);
  if (isRecord(arg)) return parseAnythingButObject(arg);
  return fail(`anything-but expects ${ANYTHING_BUT_SHAPES}, got ${describe(arg)}`);
}

function parseAnythingButList(list: readonly unknown[]): Parsed<AnythingBut> {
  if (list.length === 0) return fail('anything-but list must not be empty');
  if (isStringList(list)) return ok({ kind: 'values', strings: list, numbers: [] });
  if (!list.every((item): item is number => typeof item === 'number')) {
    return fail('anything-but list must hold only strings or only numbers');
  }
  const problem = list.map((n) => numberProblem('anything-but', n)).find((p) => p !== undefined);
  return problem ? fail(problem) : ok({ kind: 'values', strings: [], numbers: list });
}

function parseAnythingButObject(arg: JsonRecord): Parsed<AnythingBut> {
  const entries = Object.entries(arg);
  const [entry] = entries;
  if (entries.length !== 1 || entry === undefined) {
    return fail(`anything-but object must have exactly one key, got ${quoteList(Object.keys(arg))}`);
  }
  const [name, inner] = entry;
  if (!isAnythingButOperator(name)) {
    return fail(`anything-but does not support ${JSON.stringify(name)}; use one of ${quoteList(ANYTHING_BUT_OPERATORS)}`);
  }
  const texts = typeof inner === 'string' ? [inner] : inner;
  if (!isStringList(texts)) return fail(`anything-but ${JSON.stringify(name)} expects a string or a list of strings`);
  if (texts.length === 0) return fail(`anything-but ${JSON.stringify(name)} list must not be empty`);
  switch (name) {
    case 'prefix':
    case 'suffix':
      return texts.includes('')
        ? fail(`anything-but ${JSON.stringify(name)} must not be empty`)
        : ok({ kind: name, texts });
    case 'equals-ignore-case':
      return ok({ kind: name, texts });
    case 'wildcard': {
      const wildcards: (readonly WildcardToken[])[] = [];
      for (const text of texts) {
        const parsed = parseWildcard(text);
        if (!parsed.ok) return fail(`anything-but ${parsed.reason}`);
        wildcards.push(parsed.value);
      }
      return ok({ kind: name, wildcards });
    }
    default:
      return assertNever(name);
  }
}

/**
 * Event Ruler assumes an anything-but matched unless a value proves otherwise, so any
 * present leaf that is not excluded matches: null, booleans and numbers pass a string
 * exclusion, strings pass a number exclusion. A missing field never matches, and with
 * an array field it is enough that one element is not excluded.
 */
function matchesAnythingBut(arg: unknown, leaves: readonly JsonScalar[]): boolean {
  const parsed = parseAnythingBut(arg);
  return parsed.ok && leaves.some((leaf) => !isExcluded(parsed.value, leaf));
}

function isExcluded(condition: AnythingBut, leaf: JsonScalar): boolean {
  if (condition.kind === 'values') {
    if (typeof leaf === 'number') return condition.numbers.includes(leaf);
    return typeof leaf === 'string' && condition.strings.includes(leaf);
  }
  if (typeof leaf !== 'string') return false;
  switch (condition.kind) {
    case 'prefix':
      return condition.texts.some((text) => leaf.startsWith(text));
    case 'suffix':
      return condition.texts.some((text) => leaf.endsWith(text));
    case 'equals-ignore-case':
      return condition.texts.some((text) => equalsIgnoringCase(leaf, text));
    case 'wildcard':
      return condition.wildcards.some((tokens) => wildcardMatches(tokens, leaf));
    default:
      return assertNever(condition);
  }
}

// ---------------------------------------------------------------------------
// numeric
// ---------------------------------------------------------------------------

export interface NumericBound {
  readonly value: number;
  readonly inclusive: boolean;
}

export interface NumericRange {
  readonly lower?: NumericBound;
  readonly upper?: NumericBound;
}

const NUMERIC_OPERATORS: readonly string[] = ['=', '<', '<=', '>', '>='];
const NUMERIC_SHAPE = 'numeric operator expects pairs like [">", 0, "<=", 5]';

function isNumericOperator(value: unknown): value is NumericOperator {
  return typeof value === 'string' && NUMERIC_OPERATORS.includes(value);
}

function numberProblem(context: string, value: number): string | undefined {
  if (!Number.isFinite(value)) return `${context} value ${String(value)} is not a finite number`;
  if (Math.abs(value) > NUMERIC_LIMIT) {
    return `${context} value ${value} is outside the range EventBridge compares (-5e9 to 5e9)`;
  }
  return undefined;
}

/**
 * One comparison (`["<", 10]`, `["=", 301.8]`) or a range given as a lower bound then
 * an upper bound (`[">", 0, "<=", 5]`), as Event Ruler accepts them.
 */
export function parseNumericCondition(arg: unknown): Parsed<NumericRange> {
  if (!isArray(arg) || (arg.length !== 2 && arg.length !== 4)) return fail(NUMERIC_SHAPE);
  const bounds: { operator: NumericOperator; value: number }[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const operator = arg[i];
    const value = arg[i + 1];
    if (!isNumericOperator(operator)) {
      return fail(`numeric operator ${describe(operator)} is not one of ${quoteList(NUMERIC_OPERATORS)}`);
    }
    if (typeof value !== 'number') return fail(`numeric "${operator}" needs a number, got ${describe(value)}`);
    const problem = numberProblem(`numeric "${operator}"`, value);
    if (problem) return fail(problem);
    bounds.push({ operator, value });
  }
  const [first, second] = bounds;
  if (first === undefined) return fail(NUMERIC_SHAPE);
  if (second === undefined) return ok(rangeOf(first.operator, first.value));
  const lower = rangeOf(first.operator, first.value).lower;
  const upper = rangeOf(second.operator, second.value).upper;
  if (first.operator === '=' || lower === undefined || upper === undefined || second.operator === '=') {
    return fail('numeric range must be a lower bound (">" or ">=") followed by an upper bound ("<" or "<=")');
  }
  if (lower.value >= upper.value) {
    return fail(`numeric range lower bound ${lower.value} must be less than upper bound ${upper.value}`);
  }
  return ok({ lower, upper });
}

function rangeOf(operator: NumericOperator, value: number): NumericRange {
  switch (operator) {
    case '=':
      return { lower: { value, inclusive: true }, upper: { value, inclusive: true } };
    case '<':
      return { upper: { value, inclusive: false } };
    case '<=':
      return { upper: { value, inclusive: true } };
    case '>':
      return { lower: { value, inclusive: false } };
    case '>=':
      return { lower: { value, inclusive: true } };
    default:
      return assertNever(operator);
  }
}

function inRange(range: NumericRange, value: number): boolean {
  const { lower, upper } = range;
  const aboveLower = lower === undefined || (lower.inclusive ? value >= lower.value : value > lower.value);
  const belowUpper = upper === undefined || (upper.inclusive ? value <= upper.value : value < upper.value);
  return aboveLower && belowUpper;
}

/** Only JSON numbers within ±5e9 take part in numeric matching; "5" (a string) never does. */
function matchesNumeric(arg: unknown, leaves: readonly JsonScalar[]): boolean {
  const parsed = parseNumericCondition(arg);
  return (
    parsed.ok &&
    leaves.some(
      (leaf) =>
        typeof leaf === 'number' &&
        Number.isFinite(leaf) &&
        Math.abs(leaf) <= NUMERIC_LIMIT &&
        inRange(parsed.value, leaf),
    )
  );
}

// ---------------------------------------------------------------------------
// exists
// ---------------------------------------------------------------------------

export function parseExists(arg: unknown): Parsed<boolean> {
  return typeof arg === 'boolean' ? ok(arg) : fail(`exists operator expects true or false, got ${describe(arg)}`);
}

/**
 * Exists looks at leaf values only: a field holding null or "" exists; a field
 * holding an object or an empty array does not (nothing to match at that leaf).
 */
function matchesExists(arg: unknown, leaves: readonly JsonScalar[]): boolean {
  const parsed = parseExists(arg);
  return parsed.ok && parsed.value === leaves.length > 0;
}

// ---------------------------------------------------------------------------
// cidr
// ---------------------------------------------------------------------------

export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

export interface CidrBlock {
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

/** Dotted-quad IPv4 or hexadecimal IPv6 (with at most one `::`), as Event Ruler recognises them. */
export function parseIpAddress(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

function parseIpv4(text: string): bigint | undefined {
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)?.slice(1).map(Number);
  if (octets === undefined || octets.some((octet) => octet > 255)) return undefined;
  return octets.reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || !text.includes(':')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string | undefined): string[] => (part ? part.split(':') : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(missing).fill('0'), ...tail];
  if (!groups.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(`0x${group}`), 0n);
}

/**
 * `"10.0.0.0/24"` or `"2001:db8::/32"`. Like Event Ruler, the prefix length must be
 * below the address width (IPv4 /0-/31, IPv6 /0-/127); a single address is matched
 * with its plain string instead.
 */
export function parseCidr(arg: unknown): Parsed<CidrBlock> {
  if (typeof arg !== 'string') return fail(`cidr operator expects a string like "10.0.0.0/24", got ${describe(arg)}`);
  const parts = arg.split('/');
  const [address, bits] = parts;
  if (parts.length !== 2 || address === undefined || bits === undefined) {
    return fail(`cidr ${JSON.stringify(arg)} needs one "/" followed by a prefix length, like "10.0.0.0/24"`);
  }
  if (!/^\d+$/.test(bits)) return fail(`cidr ${JSON.stringify(arg)} prefix length must be a non-negative integer`);
  const ip = parseIpAddress(address);
  if (ip === undefined) return fail(`cidr ${JSON.stringify(arg)} does not start with an IPv4 or IPv6 address`);
  const width = ip.family === 4 ? 32 : 128;
  const prefixLength = Number(bits);
  if (prefixLength >= width) {
    return fail(
      `cidr ${JSON.stringify(arg)}: IPv${ip.family} prefix length must be 0-${width - 1}; match one address with its plain string`,
    );
  }
  const hostBits = BigInt(width - prefixLength);
  const hostMask = (1n << hostBits) - 1n;
  return ok({ family: ip.family, first: ip.value & ~hostMask, last: ip.value | hostMask });
}

function matchesCidr(arg: unknown, leaves: readonly JsonScalar[]): boolean {
  const parsed = parseCidr(arg);
  if (!parsed.ok) return false;
  const block = parsed.value;
  return leaves.some((leaf) => {
    const ip = typeof leaf === 'string' ? parseIpAddress(leaf) : undefined;
    return ip !== undefined && ip.family === block.family && ip.value >= block.first && ip.value <= block.last;
  });
}

// ---------------------------------------------------------------------------
// Message helpers (shared with the validator)
// ---------------------------------------------------------------------------

/** A short description of a JSON-ish value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (isArray(value)) return 'an array';
  if (isRecord(value)) return 'an object';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return JSON.stringify(value);
  return `a ${typeof value}`;
}

export function quoteList(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.map((item) => JSON.stringify(item)).join(', ');
}
