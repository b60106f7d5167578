import { createRequire } from 'node:module';

/**
 * dynalite parses every expression of every request (condition, update, key condition, filter, projection) with
 * a PEG parser: ~15% of the embedded engine's CPU, for the same few dozen expression shapes the handlers send
 * again and again with other values. This keeps the parse of each shape and hands out a copy with the
 * request's values in it, so dynalite validates and evaluates exactly what it would have parsed itself:
 *
 * - a shape is the parser, the expression, its attribute names, and the type (S, N, SS, ...) of each value:
 *   everything the parsers' checks read, but for the two checks that read a value itself (`BETWEEN`'s bounds
 *   compared, `attribute_type`'s type name), whose expressions are never cached;
 * - only a parse that succeeded is kept (an error is parsed again, to say the same thing);
 * - the names and values the parse used are marked used, as the parser marks them (dynalite refuses unused ones);
 * - each request gets its own copy (dynalite rewrites a key condition's tree in place).
 *
 * An adapter of the embedded engine's DynamoDB (dynalite stands in for AWS's): no handler sees it.
 */

interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, Record<string, unknown>>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  isKeyCondition?: boolean;
}
type Parse = (input: string, options: { context: ParseContext }) => unknown;
interface Parser {
  parse: Parse;
}

/** A placeholder for an expression attribute value in a kept parse tree. */
class ValueSlot {
  constructor(readonly name: string) {}
}
interface Kept {
  tree: unknown;
  names: string[];
  values: string[];
}

/** Most shapes kept per parser (the handlers send a few dozen; a client sending ever new ones cannot grow it without bound). */
const SHAPES_MAX = 2000;
/** Expressions whose parse reads a value itself, not only its type: never cached. */
const READS_VALUES = /between|attribute_type/i;
const TYPES = ['S', 'N', 'B', 'NULL', 'BOOL', 'SS', 'NS', 'BS', 'L', 'M'];
const typeOf = (value: Record<string, unknown>) => TYPES.find((t) => value[t] != null) ?? '?';

/** The tree with every value object of the request replaced by its slot (values are leaves: not descended into). */
function toTemplate(node: unknown, slots: Map<object, string>): unknown {
  if (node === null || typeof node !== 'object') return node;
  const slot = slots.get(node);
  if (slot !== undefined) return new ValueSlot(slot);
  if (Array.isArray(node)) return node.map((n) => toTemplate(n, slots));
  // The same prototype (the parsers make some maps with none): a copy must behave as the parse did.
  const out = Object.create(Object.getPrototypeOf(node) as object | null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(node)) out[k] = toTemplate(v, slots);
  return out;
}

/** A copy of a kept tree with the request's value objects in its slots. */
function fromTemplate(node: unknown, vals: Record<string, Record<string, unknown>>): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (node instanceof ValueSlot) return vals[node.name];
  if (Array.isArray(node)) return node.map((n) => fromTemplate(n, vals));
  const out = Object.create(Object.getPrototypeOf(node) as object | null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(node)) out[k] = fromTemplate(v, vals);
  return out;
}

function cached(parser: Parser, id: string): void {
  const parse = parser.parse.bind(parser);
  const kept = new Map<string, Kept>();
  parser.parse = (input, options) => {
    const context = options.context;
    if (READS_VALUES.test(input)) return parse(input, options);
    const names = context.attrNames ?? {};
    const vals = context.attrVals ?? {};
    const key = `${id}\u0000${context.isKeyCondition ? 'k' : ''}\u0000${input}\u0000${JSON.stringify(names)}\u0000${Object.entries(vals)
      .map(([k, v]) => `${k}=${typeOf(v)}`)
      .join(',')}`;
    const hit = kept.get(key);
    if (hit) {
      for (const n of hit.names) delete context.unusedAttrNames?.[n];
      for (const v of hit.values) delete context.unusedAttrVals?.[v];
      return fromTemplate(hit.tree, vals);
    }
    // Every name and value this expression uses, whether or not an expression parsed before it in the request (the
    // update before the condition) used it too: a kept parse marks them all, as a fresh parse would in any request.
    const probe: ParseContext = {
      ...context,
      unusedAttrNames: Object.fromEntries(Object.keys(names).map((n) => [n, true])),
      unusedAttrVals: Object.fromEntries(Object.keys(vals).map((v) => [v, true])),
    };
    const tree = parse(input, { ...options, context: probe });
    const usedNames = Object.keys(names).filter((n) => !(n in probe.unusedAttrNames!));
    const usedValues = Object.keys(vals).filter((v) => !(v in probe.unusedAttrVals!));
    for (const n of usedNames) delete context.unusedAttrNames?.[n];
    for (const v of usedValues) delete context.unusedAttrVals?.[v];
    if (kept.size < SHAPES_MAX && tree !== null && typeof tree === 'object') {
      const slots = new Map<object, string>(Object.entries(vals).map(([k, v]) => [v, k]));
      kept.set(key, { tree: toTemplate(tree, slots), names: usedNames, values: usedValues });
    }
    return tree;
  };
}

/**
 * Marks a parser module whose parses are kept. The mark is on dynalite's module, not in this one: this module can be
 * evaluated more than once in a process (a test worker giving each file a fresh registry of the repository's
 * modules, vitest.config.ts HANDLER_TESTS), and a second evaluation must not wrap the parser again.
 */
const KEPT = Symbol.for('rapport.dynalite-parses-kept');

let installed = false;
/** Keep dynalite's parses (once per process: dynalite's parser modules are shared by every dynalite in it). */
export function cacheDynaliteParses(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  for (const name of ['conditionParser', 'updateParser', 'projectionParser']) {
    const parser = require(`./db/${name}`) as Parser & { [KEPT]?: true };
    if (parser[KEPT]) continue;
    parser[KEPT] = true;
    cached(parser, name);
  }
}
