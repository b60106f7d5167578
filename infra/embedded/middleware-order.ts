/**
 * The AWS SDK v3 resolves a command's middleware on every `send`: it copies the client's whole middleware stack
 * (two copies for a Document client command, whose stack is concatenated twice), adds the command's own middleware,
 * then sorts the lot by step, priority and relations. For the embedded engine's in-process DynamoDB client that is
 * ~8% of each call's CPU, to compute the same order again and again. (The SDK's own answer,
 * `cacheMiddleware`, keeps the first command's resolved handler and its context; the Document client refuses it, and it
 * shares one context among concurrent calls.)
 *
 * `cacheMiddlewareOrder(client)` keeps only the order. The client stack's `concat` (which every command's
 * `resolveMiddleware` calls) returns a stack that records what is added to it instead of copying; its `resolve`
 * builds the handler chain from the middleware functions of this very call (the client's, the command's, the
 * Document client's marshalling ones that close over this command), with the context and the terminal handler the
 * SDK built for this call, in the order the SDK's own stack computes for the same sequence of additions. That order
 * depends only on what each addition declares (name, aliases, step, priority, relation, anchor, override), never on
 * the functions, so it is computed once per distinct sequence, by a real SDK stack, and reused.
 *
 * Anything else (a stack that logs its order, a removal from a concatenated stack, an addition that declares
 * something a key cannot hold) goes the SDK's way: a real stack built from the same additions. A change to the
 * client's stack (faults, authorisation and benchmarks add middleware at run time) starts a new generation.
 */
import type { Handler, HandlerExecutionContext } from '@smithy/types';
import type { Substitute } from './sdk-shortcuts';

type AnyMiddleware = (next: Handler<object, object>, context: HandlerExecutionContext) => Handler<object, object>;
/** The SDK's middleware stack, as this module uses it. */
interface AnyStack {
  add(middleware: AnyMiddleware, options?: Options): void;
  addRelativeTo(middleware: AnyMiddleware, options: Options): void;
  use(plugin: { applyToStack(stack: AnyStack): void }): void;
  concat(from: AnyStack): AnyStack;
  resolve(handler: Handler<object, object>, context: HandlerExecutionContext): Handler<object, object>;
  identifyOnResolve(toggle?: boolean): boolean;
  applyToStack(to: AnyStack): AnyStack;
  clone(): AnyStack;
  identify(): string[];
  remove(toRemove: string | AnyMiddleware): boolean;
  removeByTag(tag: string): boolean;
}
type Options = Record<string, unknown>;

/** One addition to a stack, as the SDK's `cloneTo` replays it: `add` (absolute) or `addRelativeTo`. */
interface Addition {
  relative: boolean;
  middleware: AnyMiddleware;
  options: Options;
}

/** The options an addition may declare that decide the order (tags and the like only label it). */
const ORDER_KEYS = ['name', 'aliases', 'step', 'priority', 'relation', 'toMiddleware', 'override'] as const;
const SEP = '\u0001';
/** Most orders kept per generation of the client's stack. */
const MAX_ORDERS = 500;

/** A key of the order-deciding options of an addition; undefined when one cannot be keyed (then the SDK's way). */
function keyOf(addition: Addition): string | undefined {
  let key = addition.relative ? 'r' : 'a';
  for (const k of ORDER_KEYS) {
    const v = addition.options[k];
    key += SEP;
    if (v === undefined) continue;
    if (typeof v === 'boolean') key += v ? 'T' : 'F';
    else if (typeof v === 'string' && !v.includes(SEP)) key += `s${v}`;
    else if (Array.isArray(v) && v.every((a) => typeof a === 'string' && !a.includes(SEP) && !a.includes('\u0002'))) key += `l${v.join('\u0002')}`;
    else return undefined;
  }
  return key;
}

/** Receives a stack's additions, as the SDK's `cloneTo` replays them (absolute ones first, then relative ones). */
class Recorder {
  readonly additions: Addition[] = [];
  #identifyOnResolve = false;
  add(middleware: AnyMiddleware, options: Options = {}): void {
    this.additions.push({ relative: false, middleware, options });
  }
  addRelativeTo(middleware: AnyMiddleware, options: Options): void {
    this.additions.push({ relative: true, middleware, options });
  }
  identifyOnResolve(toggle?: boolean): boolean {
    if (typeof toggle === 'boolean') this.#identifyOnResolve = toggle;
    return this.#identifyOnResolve;
  }
}
function record(stack: AnyStack): Recorder {
  const recorder = new Recorder();
  stack.applyToStack(recorder as unknown as AnyStack);
  return recorder;
}

/** A real SDK stack with these additions made to it, in order. */
function realStack(empty: () => AnyStack, additions: Iterable<Addition>): AnyStack {
  const stack = empty();
  for (const { relative, middleware, options } of additions) {
    if (relative) stack.addRelativeTo(middleware, options);
    else stack.add(middleware, options);
  }
  return stack;
}

/** The order the SDK resolves these additions in: indexes into `additions`, outermost first (throws what the SDK throws). */
function orderOf(empty: () => AnyStack, additions: readonly Addition[]): number[] {
  const resolved: number[] = [];
  const markers = additions.map(({ relative, options }, i) => {
    const marker = ((next: Handler<object, object>) => (resolved.push(i), next)) as AnyMiddleware;
    return { relative, middleware: marker, options: { ...options, middleware: marker } };
  });
  realStack(empty, markers).resolve(() => Promise.resolve({ output: {} }) as never, {} as HandlerExecutionContext);
  return resolved.reverse();
}

export interface MiddlewareOrderStats {
  /** Resolutions from a kept order. */
  hits: number;
  /** Orders computed (a new sequence of additions, or a new generation of the client's stack). */
  misses: number;
  /** Resolutions that went the SDK's way (see the module comment). */
  fallbacks: number;
}

/** The client's stack at one generation: its additions and their keys (undefined: one cannot be keyed). */
interface Generation {
  additions: readonly Addition[];
  /** The middleware each addition runs as (its own, or its `substitute`'s stand-in). */
  runs: readonly AnyMiddleware[];
  key: string | undefined;
  identifyOnResolve: boolean;
  orders: Map<string, number[]>;
}

/** A concatenation not copied: the client's generation plus what was added to it since; real once anything else is asked of it. */
class RecordingStack {
  #real: AnyStack | undefined;
  constructor(
    private readonly generation: Generation,
    private readonly added: Addition[],
    private readonly empty: () => AnyStack,
    private readonly stats: MiddlewareOrderStats,
    private readonly substitute: Substitute | undefined,
  ) {}

  #materialize(): AnyStack {
    return (this.#real ??= realStack(this.empty, [...this.generation.additions, ...this.added]));
  }
  add(middleware: AnyMiddleware, options: Options = {}): void {
    if (this.#real) this.#real.add(middleware, options);
    else this.added.push({ relative: false, middleware, options });
  }
  addRelativeTo(middleware: AnyMiddleware, options: Options): void {
    if (this.#real) this.#real.addRelativeTo(middleware, options);
    else this.added.push({ relative: true, middleware, options });
  }
  use(plugin: { applyToStack(stack: AnyStack): void }): void {
    plugin.applyToStack(this);
  }
  concat(from: AnyStack): AnyStack {
    if (this.#real) return this.#real.concat(from);
    const more = record(from);
    if (more.identifyOnResolve()) return this.#materialize().concat(from);
    return new RecordingStack(this.generation, [...this.added, ...more.additions], this.empty, this.stats, this.substitute);
  }
  resolve(handler: Handler<object, object>, context: HandlerExecutionContext): Handler<object, object> {
    if (this.#real) return this.#real.resolve(handler, context);
    const { generation, added } = this;
    let key = generation.key;
    for (let i = 0; key !== undefined && i < added.length; i++) {
      const k = keyOf(added[i]!);
      key = k === undefined ? undefined : `${key}\u0000${k}`;
    }
    if (key === undefined) {
      this.stats.fallbacks++;
      return this.#materialize().resolve(handler, context);
    }
    const base = generation.additions;
    let order = generation.orders.get(key);
    if (order) this.stats.hits++;
    else {
      this.stats.misses++;
      order = orderOf(this.empty, [...base, ...added]);
      // Commands declare a few shapes; one whose middleware names change every call is ordered each time.
      if (generation.orders.size < MAX_ORDERS) generation.orders.set(key, order);
    }
    const { runs } = generation;
    const substitute = this.substitute;
    let next = handler;
    for (let i = order.length - 1; i >= 0; i--) {
      const at = order[i]!;
      if (at < base.length) next = runs[at]!(next, context);
      else {
        const addition = added[at - base.length]!;
        next = (substitute?.(addition) ?? addition.middleware)(next, context);
      }
    }
    return next;
  }
  identifyOnResolve(toggle?: boolean): boolean {
    if (typeof toggle === 'boolean') return this.#materialize().identifyOnResolve(toggle);
    return this.#real?.identifyOnResolve() ?? false;
  }
  applyToStack(to: AnyStack): AnyStack {
    return this.#materialize().applyToStack(to);
  }
  clone(): AnyStack {
    return this.#materialize().clone();
  }
  identify(): string[] {
    return this.#materialize().identify();
  }
  remove(toRemove: string | AnyMiddleware): boolean {
    return this.#materialize().remove(toRemove);
  }
  removeByTag(tag: string): boolean {
    return this.#materialize().removeByTag(tag);
  }
}

/**
 * Keep the middleware order of `client`'s commands (see the module comment); returns the client. `emptyStack` makes
 * an empty SDK stack (a new command's `middlewareStack` is one). Every command sent through the client, or through a
 * Document client made from it, resolves the same middleware, in the same order, with the same context as before,
 * each call with its own middleware instances and context. With `substitute`, an addition it names a stand-in for
 * runs as that stand-in (sdk-shortcuts.ts) on this path only: a stack resolved the SDK's way runs the SDK's own.
 */
export function cacheMiddlewareOrder<C extends { middlewareStack: unknown }>(client: C, emptyStack: () => unknown, stats?: MiddlewareOrderStats, substitute?: Substitute): C {
  const clientStack = client.middlewareStack as AnyStack;
  const empty = emptyStack as unknown as () => AnyStack;
  const count = stats ?? { hits: 0, misses: 0, fallbacks: 0 };

  let generation: Generation | undefined;
  const current = (): Generation => {
    if (!generation) {
      const recorder = record(clientStack);
      const keys = recorder.additions.map(keyOf);
      const key = keys.every((k) => k !== undefined) ? `${keys.length}\u0000${keys.join('\u0000')}` : undefined;
      const runs = recorder.additions.map((addition) => substitute?.(addition) ?? addition.middleware);
      generation = { additions: recorder.additions, runs, key, identifyOnResolve: recorder.identifyOnResolve(), orders: new Map() };
    }
    return generation;
  };
  // Any change to the client's stack starts a new generation.
  for (const method of ['add', 'addRelativeTo', 'remove', 'removeByTag', 'use', 'identifyOnResolve'] as const) {
    const original = clientStack[method].bind(clientStack) as (...args: unknown[]) => unknown;
    (clientStack as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      if (method !== 'identifyOnResolve' || typeof args[0] === 'boolean') generation = undefined;
      return original(...args);
    };
  }
  const concat = clientStack.concat.bind(clientStack);
  clientStack.concat = (from: AnyStack) => {
    const base = current();
    const more = record(from);
    if (base.identifyOnResolve || more.identifyOnResolve()) {
      count.fallbacks++;
      return concat(from);
    }
    return new RecordingStack(base, more.additions, empty, count, substitute) as AnyStack;
  };
  return client;
}
