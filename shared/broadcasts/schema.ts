import { z } from 'zod';
import { BROADCAST_CHANNELS, orList } from '../channels';
import { RapportError } from '../errors';
import { DEFAULT_ATTRIBUTION, type AttributionRule } from '../attribution';
import { parseSegmentId } from '../segmentation/membership';
import { DURATION_PATTERN, durationMs } from '../segmentation/time';
import { formatProblem, sortProblems, type SourceProblem } from '../segmentation/errors';
import { readYaml, zodProblems } from '../segmentation/yaml-source';

/**
 * A broadcast: a one-off message to a segment. `workflows/broadcasts.d/<id>.yaml`, or the body of
 * `POST /v1/broadcasts`, in the same shape:
 *
 * ```yaml
 * id: spring-sale-2027
 * segment: tag:newsletter
 * send: { channel: email, template: spring-sale, kind: marketing }
 * at: 2027-03-01T09:00:00Z   # optional: not before then (absent: now); without a zone
 *                            # (2027-03-01T09:00) that wall-clock time in each customer's time zone
 * rate: 50                    # optional: at most 50 messages a second
 * topic: promotions           # optional: a label kept on each message record
 * attribution: { event: Order Completed, value: revenue, window: 5d }   # optional: what its messages earn
 * ```
 */
export const BROADCAST_ID_PATTERN = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;
const ID_MESSAGE = 'expected a broadcast id in lowercase letters, digits, "-" or "_", like "spring-sale-2027"';
/** Messages per second a broadcast may ask for at most (a provider's own limit is usually lower: SES starts at 14/s). */
export const BROADCAST_RATE_MAX = 10_000;

/** The longest attribution window of a broadcast: a year, as the profile's event history at most. */
export const BROADCAST_ATTRIBUTION_WINDOW_MAX_DAYS = 365;
const WINDOW_MESSAGE = `expected a window like "5d", "12h", "2w" or "3mo" (at most ${BROADCAST_ATTRIBUTION_WINDOW_MAX_DAYS} days)`;

const BroadcastAttributionSchema = z.strictObject(
  {
    event: z.string({ error: 'expected the conversion event\'s name, like "Order Completed"' }).trim().min(1, { error: 'expected the conversion event\'s name, like "Order Completed"' }).max(200, { error: 'expected an event name of at most 200 characters' }),
    value: z
      .string({ error: 'expected the property holding what a conversion earned, like "revenue"' })
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, { error: 'expected a property name such as "revenue" (letters, digits, _; at most 64)' })
      .optional(),
    window: z
      .string({ error: WINDOW_MESSAGE })
      .regex(DURATION_PATTERN, { error: WINDOW_MESSAGE })
      .refine((text) => !DURATION_PATTERN.test(text) || durationMs(text) <= BROADCAST_ATTRIBUTION_WINDOW_MAX_DAYS * 86_400_000, { error: WINDOW_MESSAGE }),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'attribution takes event, value and window' : 'expected attribution: { event, value?, window }') },
);

export const BroadcastSchema = z.strictObject(
  {
    id: z.string({ error: ID_MESSAGE }).regex(BROADCAST_ID_PATTERN, { error: ID_MESSAGE }).max(64, { error: 'expected a broadcast id of at most 64 characters' }),
    segment: z.string({ error: 'expected a segment id like "tag:newsletter", "lifecycle:active", "rfm:high-value" or "segment:<id>"' }).check((ctx) => {
      const parsed = parseSegmentId(ctx.value);
      if ('error' in parsed) ctx.issues.push({ code: 'custom', input: ctx.value, message: parsed.error });
    }),
    send: z.strictObject(
      {
        channel: z.enum(BROADCAST_CHANNELS, { error: `expected ${orList(BROADCAST_CHANNELS, true)}` }),
        template: z.string({ error: 'expected the name of a template in workflows/templates, like "spring-sale"' }).regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'expected a template name in lowercase letters, digits, "-" or "_"' }),
        kind: z.enum(['marketing', 'transactional'], { error: 'expected "marketing" or "transactional"' }).default('marketing'),
      },
      { error: (issue) => (issue.code === 'unrecognized_keys' ? 'send takes channel, template and kind' : 'expected send: { channel, template, kind? }') },
    ),
    at: z.iso
      .datetime({ offset: true, local: true, error: 'expected an ISO 8601 time: with a zone for one instant ("2027-03-01T09:00:00Z"), without for that time in each customer\'s time zone ("2027-03-01T09:00")' })
      .optional(),
    rate: z.number({ error: 'expected messages per second, a positive number' }).positive({ error: 'expected messages per second, a positive number' }).max(BROADCAST_RATE_MAX, { error: `expected at most ${BROADCAST_RATE_MAX} messages per second` }).optional(),
    topic: z.string({ error: 'expected a topic label like "promotions"' }).min(1).max(64).optional(),
    attribution: BroadcastAttributionSchema.optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'a broadcast takes id, segment, send, at, rate, topic and attribution' : 'expected a broadcast: { id, segment, send, at?, rate?, topic?, attribution? }') },
);
export type Broadcast = z.output<typeof BroadcastSchema>;
export type BroadcastInput = z.input<typeof BroadcastSchema>;

/** Whether a broadcast's `at` is a wall-clock time in each customer's time zone (no `Z`, no offset) rather than one instant. */
export function isLocalAt(at: string): boolean {
  return !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(at);
}

/** The local date and time of an `at` without a zone (`2027-03-01T09:00[:00[.000]]`). */
export function localAtParts(at: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(at);
  if (!m) throw new RangeError(`not a local date and time: ${JSON.stringify(at)}`);
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6] ?? 0) };
}

/** The earliest and latest zones' offsets from UTC (Kiritimati +14:00, Baker Island -12:00): a local `at` falls between. */
export const EARLIEST_ZONE_OFFSET_HOURS = 14;
export const LATEST_ZONE_OFFSET_HOURS = -12;

/**
 * The instants a broadcast's `at` spans: one instant for a time with a zone; for a wall-clock time, from when the
 * earliest zone reaches it to when the latest does. The execution waits for `first`; each recipient for their own.
 */
export function atSpan(at: string): { first: Date; last: Date } {
  if (!isLocalAt(at)) return { first: new Date(at), last: new Date(at) };
  const p = localAtParts(at);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return { first: new Date(wall - EARLIEST_ZONE_OFFSET_HOURS * 3_600_000), last: new Date(wall - LATEST_ZONE_OFFSET_HOURS * 3_600_000) };
}

/** A broadcast's conversion rule: its own `attribution`, else the default every journey has too (`DEFAULT_ATTRIBUTION`). */
export function broadcastAttribution(broadcast: Pick<Broadcast, 'attribution'>): AttributionRule {
  const rule = broadcast.attribution;
  return {
    event: rule?.event ?? DEFAULT_ATTRIBUTION.event,
    ...(rule?.value !== undefined && { value: rule.value }),
    windowSeconds: durationMs(rule?.window ?? DEFAULT_ATTRIBUTION.window) / 1000,
  };
}

/** One problem in a broadcast: where (`send.channel`) and what. */
export interface BroadcastProblem {
  path: string;
  message: string;
}

/** A broadcast from a request body: the broadcast, or every problem with the field it is at (`$.send.channel`). */
export function parseBroadcast(value: unknown): { ok: true; broadcast: Broadcast } | { ok: false; problems: BroadcastProblem[] } {
  const parsed = BroadcastSchema.safeParse(value);
  if (parsed.success) return { ok: true, broadcast: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.flatMap((issue) => {
      const path = ['$', ...issue.path.map(String)].join('.');
      if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: `${path}.${key}`, message: `unknown key "${key}"; ${issue.message}` }));
      if (issue.code === 'invalid_type' && issue.input === undefined) return [{ path, message: `missing; ${issue.message}` }];
      return [{ path, message: issue.message }];
    }),
  };
}

/** A broadcast file that does not load: every problem as `file:line:col  path: message`. */
export class BroadcastFileError extends RapportError {
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly errors: readonly SourceProblem[],
  ) {
    super(`broadcast ${file} not loaded, ${errors.length === 1 ? '1 problem' : `${errors.length} problems`}:\n${errors.map(formatProblem).join('\n')}`);
  }
}

/** A broadcast file's text (`<id>.yaml`): the broadcast, or its problems with line and column. Its `id` must be its file name. */
export function loadBroadcastFile(text: string, file: string, expectedId?: string): { ok: true; broadcast: Broadcast } | { ok: false; errors: SourceProblem[] } {
  const source = readYaml(text, file);
  if (source.syntaxErrors.length > 0) return { ok: false, errors: [...source.syntaxErrors] };
  const parsed = BroadcastSchema.safeParse(source.value ?? {}, { reportInput: true });
  if (!parsed.success) return { ok: false, errors: sortProblems(zodProblems(source, parsed.error.issues)) };
  if (expectedId !== undefined && parsed.data.id !== expectedId) {
    return { ok: false, errors: [source.problem(['id'], `expected "${expectedId}", the file's name: a broadcast's id names its file`, 'value')] };
  }
  return { ok: true, broadcast: parsed.data };
}

/** The JSON Schema of a broadcast file, for editor completion (yaml-language-server) and external tools. */
export function broadcastJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(BroadcastSchema, { io: 'input', unrepresentable: 'any' });
}
