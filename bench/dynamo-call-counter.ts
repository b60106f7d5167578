/**
 * Counts the DynamoDB calls a bench's engine makes, by operation; with `byCaller` (BENCH_CALLERS=1) also by
 * operation, key shape (the table, its partition key's prefix, e.g. `C#` / `A#`, and sort key prefix) and the
 * first Rapport frames of the caller's stack: where the calls per event come from.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const plain = (v: unknown): string => (typeof v === 'string' ? v : v && typeof v === 'object' && 'S' in v ? String((v as { S: unknown }).S) : '?');
const prefix = (v: unknown) => plain(v).replace(/^([A-Za-z_-]*[#:]?).*$/, '$1');

/** `table[PK-prefix SK-prefix]` of a call, from its key, item, query values or batch requests. */
function keyShape(input: Record<string, unknown>): string {
  const table = String(input.TableName ?? '');
  const key = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
  if (key) {
    const pk = key.PK ?? key.id;
    return `${table}[${prefix(pk)}${key.SK !== undefined ? ` ${prefix(key.SK)}` : ''}]`;
  }
  if (input.ExpressionAttributeValues) return `${table}[${prefix((input.ExpressionAttributeValues as Record<string, unknown>)[':pk'])}${input.IndexName ? ` ${String(input.IndexName)}` : ''}]`;
  if (input.RequestItems) {
    const items = input.RequestItems as Record<string, { Keys?: Array<Record<string, unknown>> } | Array<Record<string, { Item?: Record<string, unknown>; Key?: Record<string, unknown> }>>>;
    return Object.entries(items)
      .map(([t, r]) => `${t}[${Array.isArray(r) ? [...new Set(r.map((w) => prefix((w.PutRequest?.Item ?? w.DeleteRequest?.Key ?? {}).PK ?? (w.PutRequest?.Item ?? w.DeleteRequest?.Key ?? {}).id)))].join(',') : [...new Set((r.Keys ?? []).map((k) => prefix(k.PK ?? k.id)))].join(',')}]`)
      .join(' ');
  }
  return table;
}

/** The first three Rapport frames (functions/, infra/, shared/) of the current stack. */
function firstRapportFrames(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1).filter((l) => /\/(functions|infra|shared)\//.test(l) && !/node_modules/.test(l) && !/bench\//.test(l));
  return frames.slice(0, 3).map((l) => l.replace(/^\s*at\s+/, '').replace(/\(?file:\/\/[^)]*\/(functions|infra|shared)\//, '$1/').replace(/\)$/, '')).join(' < ') || '(no Rapport frame)';
}

export interface DynamoCallCounter {
  /** Calls by operation (`GetItem`, ...), or by the `label` the bench gave. */
  readonly calls: Map<string, number>;
  /** With `byCaller`: calls by operation, key shape and caller. */
  readonly callers: Map<string, number>;
  readonly total: () => number;
  readonly clear: () => void;
  /** The caller lines, most calls first, each divided by `per` (e.g. events). */
  readonly callerLines: (per: number) => string[];
}

export function countDynamoCalls(client: DynamoDBClient, options: { byCaller?: boolean; label?: (op: string, input: Record<string, unknown>) => string } = {}): DynamoCallCounter {
  const calls = new Map<string, number>();
  const callers = new Map<string, number>();
  if (options.byCaller) Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 60);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const op = (context.commandName ?? '?').replace(/Command$/, '');
      const input = (args as { input: Record<string, unknown> }).input;
      const label = options.label?.(op, input) ?? op;
      calls.set(label, (calls.get(label) ?? 0) + 1);
      if (options.byCaller) {
        const where = `${op} ${keyShape(input)} <- ${firstRapportFrames()}`;
        callers.set(where, (callers.get(where) ?? 0) + 1);
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchCountCalls' },
  );
  return {
    calls,
    callers,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    clear: () => (calls.clear(), callers.clear()),
    callerLines: (per) => [...callers].sort((a, b) => b[1] - a[1]).map(([where, n]) => `${(n / per).toFixed(3)}  ${where}`),
  };
}
