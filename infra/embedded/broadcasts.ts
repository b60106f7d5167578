import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BroadcastLanes, BroadcastStore, createBroadcastApiHandler, createBroadcastPageHandler, createBroadcastService, type BroadcastExecutions, type PageState } from '../../functions/broadcasts';
import type { BroadcastRates } from '../../shared/broadcasts';
import type { Channels, JourneyStore, SendPolicy, TemplateRenderer, UnsubscribeKeyProvider } from '../../functions/journeys';
import { createSendGateway } from '../../functions/journeys/gateway';
import type { ProfileStore } from '../../functions/profile';
import { templateKey, type Clock, type Topics } from '../../shared';
import { broadcastDefinition, BROADCAST_STATE_MACHINE, loadBroadcastsFromDir } from '../../workflows/broadcasts';
import { authorizedBroadcastStart, invocationDenied, lambdaInvokeDenied, type AwsCallAuthorizer } from './authorization';
import { invokeLambda } from './lambda-async';
import { LocalStepFunctions, type AslDefinition } from './step-functions';
import type { VirtualClock } from './virtual-time';

/** The name the broadcast state machine uses for the page Lambda locally (in AWS, its ARN). */
export const LOCAL_BROADCAST_PAGE_FUNCTION = 'arn:aws:lambda:local:000000000000:function:rapport-broadcast-page';

export interface BroadcastWiring {
  /** Folder of broadcast files (`<id>.yaml`), each created (once: idempotent on id) when the engine starts. */
  broadcastsDir: string;
  doc: DynamoDBDocumentClient;
  tableName: string;
  profiles: ProfileStore;
  /** The journeys' message records: a broadcast's recipients are claimed and recorded there too. */
  records: JourneyStore;
  channels: Channels;
  policy: SendPolicy;
  /** The declared subscription topics (topics.yaml): a broadcast's `topic` must be one. */
  topics?: Topics;
  /** Messages per second all broadcasts together may send per channel (their lanes' token buckets); a channel not named is not limited. */
  broadcastRates?: BroadcastRates;
  /** The events the journey router credits as conversions (`conversionEventsOf`) now: a broadcast's attribution may name these. */
  conversionEvents: () => ReadonlySet<string>;
  /** The templates now (the journeys' wiring reloads them) and their files by `templateKey`. */
  templates: TemplateRenderer;
  templateSources: () => Readonly<Record<string, string>>;
  clock: Clock;
  virtual?: VirtualClock;
  timeScale: number;
  unsubscribe: { baseUrl: () => string; keys: UnsubscribeKeyProvider };
  onErasedWrite?: (ids: string[]) => Promise<void>;
  /** Data folder: broadcast executions are journaled in `<data>/broadcasts/executions` and resumed at start. */
  dataDir?: string;
  /** Authorisation of the broadcast functions' StartExecution calls (see EngineOptions.authorize). */
  authorize?: AwsCallAuthorizer;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Broadcasts in the embedded engine: the same page and API handlers as in AWS, the same state machine
 * (compiled ASL) on its own local Step Functions executor, durable in the data folder like the journeys'.
 * The page Lambda is its own function (`rapport-broadcast-page`): a lane of its own, beside the journeys' steps.
 */
export function wireBroadcasts(w: BroadcastWiring) {
  const store = new BroadcastStore(w.doc, w.tableName);
  const gateway = createSendGateway({
    profiles: w.profiles,
    journeys: w.records,
    channels: w.channels,
    templates: w.templates,
    policy: w.policy,
    clock: w.clock,
    unsubscribe: { get baseUrl() { return w.unsubscribe.baseUrl(); }, keys: w.unsubscribe.keys },
    ...(w.onErasedWrite && { onErasedWrite: w.onErasedWrite }),
  });
  const holder: { sfn?: LocalStepFunctions } = {};
  const start = (name: string, input: PageState) => holder.sfn!.start(BROADCAST_STATE_MACHINE, name, input as never);
  const executions: BroadcastExecutions = { start: w.authorize ? authorizedBroadcastStart(start, w.authorize) : start };
  const service = createBroadcastService({
    store,
    lanes: new BroadcastLanes(w.doc, w.tableName, w.broadcastRates ?? {}, w.clock),
    profiles: w.profiles,
    journeys: w.records,
    gateway,
    executions,
    clock: w.clock,
    templateExists: (channel, template) => templateKey(template, channel) in w.templateSources(),
    get conversionEvents() {
      return w.conversionEvents();
    },
    defaultTimeZone: w.policy.defaultTimeZone,
    ...(w.topics !== undefined && { topics: w.topics }),
    attributionCounters: (journeyId) => w.records.stats(journeyId),
  });
  const page = createBroadcastPageHandler(service, { logger: w.logger, metrics: w.metrics });
  const sfn = new LocalStepFunctions({
    timeScale: w.timeScale,
    now: () => w.clock.now(),
    ...(w.virtual && { virtual: w.virtual }),
    ...(w.dataDir && { dataDir: join(w.dataDir, 'broadcasts') }),
    invokeStep: async (payload) => {
      // The broadcast state machine's role invokes the page function (on the twin: authorised by the template's role).
      const denial = await invocationDenied(w.authorize, 'rapport-broadcast-page', { stateMachine: 'broadcasts' });
      if (denial) throw lambdaInvokeDenied(denial);
      return (await invokeLambda('rapport-broadcast-page', 900_000, (context, o) => page(payload as unknown as PageState, context, o))) as never;
    },
  });
  holder.sfn = sfn;
  sfn.register(BROADCAST_STATE_MACHINE, broadcastDefinition(LOCAL_BROADCAST_PAGE_FUNCTION) as unknown as AslDefinition);
  // Broadcast executions saved in the data folder go on where they were.
  sfn.resume();
  const api = createBroadcastApiHandler(service, { logger: w.logger, metrics: w.metrics });
  // The broadcast files, checked now (a broken one fails the start, with file:line:col) and created once the engine
  // listens (`createFromFiles`): a file already created, running or done changes nothing.
  const files = loadBroadcastsFromDir(w.broadcastsDir);
  const createFromFiles = async () => {
    for (const broadcast of files) {
      const result = await invokeLambda<Awaited<ReturnType<typeof service.create>>>('rapport-broadcasts', 29_000, async () => service.create(broadcast));
      if (result.status >= 400) throw new Error(`${w.broadcastsDir}/${broadcast.id}.yaml: ${String(result.body.message)}`);
    }
  };
  return { store, service, api, sfn, createFromFiles };
}
