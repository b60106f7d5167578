import { z } from 'zod';
import { RapportError } from '../errors';
import type { ConsentMode } from '../profile/consent';
import { formatProblem, sortProblems, type SourceProblem } from '../segmentation/errors';
import { readYaml, zodProblems } from '../segmentation/yaml-source';

/**
 * Subscription topics: `workflows/topics.yaml`. What a marketing message is about (a newsletter,
 * offers, product updates), so a customer can leave one topic and keep the others. Journeys and
 * broadcasts declare theirs (`topic:`); consent is kept per channel and topic; the preference page
 * lists the topics.
 *
 * ```yaml
 * topics:
 *   - id: offers
 *     name: Offers and discounts
 *     description: Sales, coupons and early access
 *     default: { opt-out: subscribed, opt-in: unsubscribed }
 * ```
 *
 * `default`: a customer's state on the topic while they have chosen nothing for it, per consent mode
 * (RAPPORT_CONSENT_MODE). The channel's own consent still comes first: nothing goes on a channel the
 * customer left, whatever the topic says.
 */
export const TOPICS_FILE = 'topics.yaml';
/** At most this many topics: each is a row of the preference page and an entry per channel on a profile. */
export const TOPICS_MAX = 32;
export const TOPIC_ID_PATTERN = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;
const ID_MESSAGE = 'expected a topic id in lowercase letters, digits, "-" or "_", like "product-updates"';

export const TopicIdSchema = z.string({ error: ID_MESSAGE }).regex(TOPIC_ID_PATTERN, { error: ID_MESSAGE }).max(64, { error: 'expected a topic id of at most 64 characters' });

const TopicStateSchema = z.enum(['subscribed', 'unsubscribed'], { error: 'expected "subscribed" or "unsubscribed"' });
export type TopicState = z.output<typeof TopicStateSchema>;

const TopicDefaultSchema = z
  .strictObject(
    {
      'opt-out': TopicStateSchema.describe('The state while the customer chose nothing, when the deployment is opt-out (RAPPORT_CONSENT_MODE=opt-out).'),
      'opt-in': TopicStateSchema.describe('The state while the customer chose nothing, when the deployment is opt-in (the channel needs consent first).'),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'default takes "opt-out" and "opt-in"' : 'expected default: { opt-out: subscribed|unsubscribed, opt-in: subscribed|unsubscribed }') },
  )
  .describe('A customer\'s state on the topic while they chose nothing for it, per consent mode.');
export type TopicDefault = z.output<typeof TopicDefaultSchema>;

export const TopicSchema = z.strictObject(
  {
    id: TopicIdSchema,
    name: z.string({ error: 'expected the name the preference page shows, like "Offers and discounts"' }).min(1).max(200),
    description: z.string({ error: 'expected a short text saying what the customer gets' }).max(1_000).optional(),
    default: TopicDefaultSchema,
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'a topic takes id, name, description and default' : 'expected a topic: { id, name, description?, default }') },
);
export type Topic = z.output<typeof TopicSchema>;

export const TopicsFileSchema = z
  .strictObject(
    { topics: z.array(TopicSchema, { error: 'expected a list of topics under "topics"' }) },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? 'the file holds one key, "topics"' : 'expected a mapping with a "topics" list') },
  )
  .meta({ title: 'Rapport subscription topics', description: 'workflows/topics.yaml: what marketing messages are about, for per-topic consent and the preference page.' });

/** The declared topics, by id. */
export interface Topics {
  readonly list: readonly Topic[];
  get(id: string): Topic | undefined;
}

export const topicsOf = (list: readonly Topic[]): Topics => {
  const byId = new Map(list.map((t) => [t.id, t]));
  return { list, get: (id) => byId.get(id) };
};

/** No topics declared (no topics.yaml): every `topic:` is refused, and messages are gated by their channel alone. */
export const NO_TOPICS: Topics = topicsOf([]);

/** The message naming `id` when it is not declared: what validate, synth and the broadcast API say. */
export function unknownTopicMessage(id: string, topics: Topics): string {
  const known = topics.list.map((t) => `"${t.id}"`).join(', ');
  return `unknown topic "${id}": expected one declared in ${TOPICS_FILE} (${known || 'none declared'})`;
}

/** The problem of a YAML file (a broadcast's) naming an undeclared topic at `path`, placed at its line and column. */
export function undeclaredTopicProblem(text: string, file: string, path: ReadonlyArray<string | number>, id: string, topics: Topics): SourceProblem {
  return readYaml(text, file).problem(path, unknownTopicMessage(id, topics));
}

/** Whether a customer who chose nothing for `topic` is subscribed to it, in `mode`. */
export const subscribedByDefault = (topicDefault: TopicDefault, mode: ConsentMode): boolean => topicDefault[mode] === 'subscribed';

export type TopicsResult = { ok: true; topics: Topic[] } | { ok: false; errors: SourceProblem[] };

/** The file as first read: the list, each topic then checked on its own (so every problem is found). */
const TopicsListSchema = z.strictObject(
  { topics: z.array(z.unknown(), { error: 'expected a list of topics under "topics"' }) },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'the file holds one key, "topics"' : 'expected a mapping with a "topics" list') },
);

/** Reads topics.yaml text: YAML, shape, ids once each, the limit; every problem at its file:line:col. All or nothing. */
export function loadTopics(text: string, file: string): TopicsResult {
  const source = readYaml(text, file);
  if (source.syntaxErrors.length > 0) return { ok: false, errors: [...source.syntaxErrors] };
  const parsed = TopicsListSchema.safeParse(source.value ?? { topics: [] }, { reportInput: true });
  if (!parsed.success) return { ok: false, errors: sortProblems(zodProblems(source, parsed.error.issues)) };
  const errors: SourceProblem[] = [];
  const topics: Topic[] = [];
  const first = new Map<string, number>();
  parsed.data.topics.forEach((raw, index) => {
    // Ids once each, whatever else is wrong with either topic (every problem is found in one pass).
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'string' ? raw.id : undefined;
    const seen = id === undefined ? undefined : first.get(id);
    if (id !== undefined && seen !== undefined) errors.push(source.problem(['topics', index, 'id'], `duplicate topic id "${id}"; topics[${seen}] already declares it`));
    else if (id !== undefined) first.set(id, index);
    const topic = TopicSchema.safeParse(raw, { reportInput: true });
    if (!topic.success) errors.push(...zodProblems(source, topic.error.issues, ['topics', index]));
    else topics.push(topic.data);
  });
  if (parsed.data.topics.length > TOPICS_MAX) errors.push(source.problem(['topics'], `holds ${parsed.data.topics.length} topics; the limit is ${TOPICS_MAX}`));
  return errors.length > 0 ? { ok: false, errors: sortProblems(errors) } : { ok: true, topics };
}

export class TopicsFileError extends RapportError {
  readonly retryable = false;
  readonly problems: readonly SourceProblem[];
  constructor(file: string, problems: readonly SourceProblem[]) {
    super(`${file} is not valid:\n${problems.map(formatProblem).join('\n')}`);
    this.problems = problems;
  }
}

/** `loadTopics`, throwing `TopicsFileError` with every problem. */
export function loadTopicsOrThrow(text: string, file: string): Topics {
  const result = loadTopics(text, file);
  if (!result.ok) throw new TopicsFileError(file, result.errors);
  return topicsOf(result.topics);
}

/** The JSON Schema of topics.yaml, for editors (yaml-language-server); `npm run schema` writes it. */
export function topicsJsonSchema(): unknown {
  return z.toJSONSchema(TopicsFileSchema, { io: 'input', unrepresentable: 'any' });
}
