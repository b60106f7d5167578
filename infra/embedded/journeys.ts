import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  createJourneyRuntime,
  createRunEndedHandler,
  createStarterHandler,
  createStepHandler,
  JourneyStore,
  liquidTemplates,
  readTemplates,
  segmentationConditions,
  templateFilesText,
  type Channels,
  type JourneySpec,
  type SendPolicy,
  type TemplateRenderer,
  type UnsubscribeKeyProvider,
} from '../../functions/journeys';
import { planJourneys, type JourneyPlan } from '../cli/plan';
import { journeySpecOf } from '../../functions/journeys/release-specs';
import type { ProfileConfig, ProfileStore } from '../../functions/profile';
import type { Executions } from '../../functions/journeys/executions';
import type { Clock, Profile, Topics } from '../../shared';
import { compileJourney, loadJourneysFromDir, type CompiledJourney } from '../../workflows/journeys';
import type { BusEvent, LocalEventBus } from './event-bus';
import type { DeadLetterSink } from './dead-letters';
import { asyncLambdaTarget, invokeLambda, ruleInvocationRefused, type ConcurrencyLimit, type EventLambda } from './lambda-async';
import { failingExecutions, type Faults } from './faults';
import { authorizedExecutions, invocationDenied, lambdaInvokeDenied, type AwsCallAuthorizer } from './authorization';
import { LocalStepFunctions, type AslDefinition, type LocalExecution } from './step-functions';
import type { VirtualClock } from './virtual-time';
import { journeyTriggerRules, RUN_ENDED } from '../topology';
import { handlerFor, type FunctionHandlers } from './functions';
import { keepReleases } from './releases';

/** The name the compiled ASL uses for the step Lambda locally (in AWS, its ARN). */
export const LOCAL_STEP_FUNCTION = 'arn:aws:lambda:local:000000000000:function:rapport-steps';

export interface JourneyWiring {
  journeysDir: string;
  /** Replaces every journey's `trigger.max_age` (seconds; null: any age). Absent: each journey's own. */
  triggerMaxAgeSeconds?: number | null;
  templatesDir: string;
  bus: LocalEventBus;
  doc: DynamoDBDocumentClient;
  tableName: string;
  profiles: ProfileStore;
  profileConfig: ProfileConfig;
  /** The declared subscription topics (topics.yaml): journeys are checked against them and compiled with their defaults. */
  topics?: Topics;
  /**
   * Read topics.yaml again for a reload (throws TopicsFileError on a broken file), and make what was read current once
   * the journeys checked against it are: a reload takes both or neither.
   */
  topicsFile?: { read: () => Topics; commit: (topics: Topics) => void };
  mutateProfile: (customerId: string, cause: string, change: (profile: Profile) => void) => Promise<unknown>;
  /** Redact what a step left for a customer found erased after it wrote (the outbox line of a message). */
  onErasedWrite?: (ids: string[]) => Promise<void>;
  channels: Channels;
  policy: SendPolicy;
  clock: Clock;
  /** Run on virtual time: the executor's waits, retries and timeouts, and the starter's retries, are timers on this clock. */
  virtual?: VirtualClock;
  timeScale: number;
  unsubscribe: { baseUrl: () => string; keys: UnsubscribeKeyProvider };
  webhookTargets: string[];
  deadLetters: DeadLetterSink;
  logger: Logger;
  metrics: Metrics;
  /** Fault injection in front of the Step Functions calls (reliability tests). */
  stepFunctionsFaults?: Faults['stepFunctions'];
  /** Authorisation of the Step Functions calls the functions make (see EngineOptions.authorize). */
  authorize?: AwsCallAuthorizer;
  /** Status-change events to lose (best-effort in AWS): the run-ended function never hears of those ends. */
  loseStatusChange?: Faults['loseStatusChange'];
  /** Data folder: executions are kept there and resumed at start (see LocalStepFunctions). Absent: in memory. */
  dataDir?: string;
  /** Lambda's async retries of the starter (as the engine's other async targets). */
  asyncRetries: { retryAttempts: number; baseDelayMs?: number; concurrency?: (functionName: string) => ConcurrencyLimit };
  /** Tags that journeys not in `journeysDir` add (a simulation runs one journey of a folder): journeys may read them too. */
  tagsAddedElsewhere?: readonly string[];
  /** The step Lambda's handler, instead of the one built here from the sources (see EngineOptions.stepHandler). */
  stepHandler?: StepLambdaHandler;
  /** Handlers instead of the ones built here, by function: the step, the starter, run-ended (see EngineOptions.functions). */
  functions?: FunctionHandlers;
}

/** The journey runtime the functions share (functions/journeys/runtime.ts). */
type JourneyRuntime = ReturnType<typeof createJourneyRuntime>;

/** A step Lambda's handler as Lambda calls it: the state's Payload and a context. */
export type StepLambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Journeys in the embedded engine: the YAML compiled to the same ASL and rule
 * patterns the CDK stack deploys, run by aws-local-stepfunctions with the same
 * step and starter handlers.
 */
export function wireJourneys(w: JourneyWiring) {
  // As `rapport validate` and synth check them: every tag a journey reads must be a tag rule, a declared manual tag or a tag some journey adds.
  const tags = { rules: w.profileConfig.tagNames, manual: [...w.profileConfig.manualTags, ...(w.tagsAddedElsewhere ?? [])] };
  /** The journeys and templates on disk, checked as at start (a broken file throws JourneyError, with file:line:col). */
  const load = (topics: Topics | undefined = w.topics) => {
    const loaded = loadJourneysFromDir(w.journeysDir, w.templatesDir, { webhookTargets: w.webhookTargets, tags, topics });
    const compiled: CompiledJourney[] = loaded.journeys.map(({ journey }) =>
      compileJourney(journey, { stepFunctionArn: LOCAL_STEP_FUNCTION, ...loaded.catalog, webhookTargets: w.webhookTargets, topics: loaded.topics }),
    );
    const sources = readTemplates(w.templatesDir);
    // With a data folder, each journey version's templates are kept: a run finishes with those it started with.
    const releases = w.dataDir ? keepReleases(w.dataDir, w.templatesDir, loaded.journeys.map(({ journey }) => journey), compiled) : undefined;
    return { journeys: new Map(loaded.journeys.map(({ journey }) => [journey.id, journey])), compiled, sources, templates: liquidTemplates(sources), releases };
  };
  let current = load();
  /**
   * The templates of journey versions and template releases a reload replaced, in memory (`${id}\n${version}`, and
   * `${id}\n${version}\n${release}`): a run of such a version or release
   * renders them when no data folder keeps its release (with one, `releases` does, across restarts too).
   */
  const retired = new Map<string, TemplateRenderer>();
  /** Likewise the compiled journeys of those versions (and of removed journeys): their runs end by their goals and exits. */
  const retiredSpecs = new Map<string, JourneySpec>((current.releases?.retired() ?? []).map((j) => [`${j.id}\n${j.version}`, j]));
  const records = new JourneyStore(w.doc, w.tableName);
  // The current templates, whatever a reload changed since the handler was made.
  const templates: TemplateRenderer = {
    localeFor: (template, channel, locale) => current.templates.localeFor(template, channel, locale),
    email: (template, data, locale) => current.templates.email(template, data, locale),
    text: (template, channel, data, locale) => current.templates.text(template, channel, data, locale),
    parts: (template, channel, data, locale) => current.templates.parts(template, channel, data, locale),
  };
  const templatesOf = (journeyId: string, version: number, release?: string): TemplateRenderer | undefined => {
    // A run started before releases were compiled into steps: its version's first files, when kept.
    if (release === undefined) return current.releases?.templatesOf(journeyId, version) ?? retired.get(`${journeyId}\n${version}`);
    const now = current.compiled.find((journey) => journey.id === journeyId);
    if (now?.version === version && now.release === release) return undefined;
    return current.releases?.templatesOf(journeyId, version, release) ?? retired.get(`${journeyId}\n${version}\n${release}`);
  };
  const stepHandler: EventLambda = handlerFor(w.functions, 'rapport-steps', w.stepHandler ?? createStepHandler(
    {
      profiles: w.profiles,
      journeys: records,
      channels: w.channels,
      templates,
      templatesOf,
      evaluate: segmentationConditions(w.profileConfig.segmentation),
      policy: w.policy,
      clock: w.clock,
      unsubscribe: { get baseUrl() { return w.unsubscribe.baseUrl(); }, keys: w.unsubscribe.keys },
      mutateProfile: w.mutateProfile,
      // The executor is made below (it runs this handler); called only once it runs.
      sendTaskSuccess: (token, output): Promise<boolean> => executions.sendTaskSuccess(token, output),
      ...(w.onErasedWrite && { onErasedWrite: w.onErasedWrite }),
    },
    { logger: w.logger, metrics: w.metrics },
  ));

  // The executor reports ends to the runtime, which starts executions on the executor: tie the knot through this holder.
  const holder: { runtime?: ReturnType<typeof createJourneyRuntime> } = {};
  const sfn = new LocalStepFunctions({
    timeScale: w.timeScale,
    now: () => w.clock.now(),
    ...(w.virtual && { virtual: w.virtual }),
    ...(w.dataDir && { dataDir: w.dataDir }),
    invokeStep: async (payload) => {
      // The state machine's role invokes the step (on the twin: authorised by the template's role).
      const denial = await invocationDenied(w.authorize, 'rapport-steps', { stateMachine: String(payload.journeyId) });
      if (denial) throw lambdaInvokeDenied(denial);
      return (await invokeLambda('rapport-steps', 60_000, (context, o) => stepHandler(payload as never, context, o))) as never;
    },
    onEnd: async (execution) => {
      const status = execution.status === 'RUNNING' ? 'SUCCEEDED' : execution.status;
      // In AWS the run-ended Lambda does this, on the execution's status-change event, which EventBridge delivers
      // best-effort (the twin loses some): the reconciling sweep ends a run whose event was lost.
      if (w.loseStatusChange?.({ journeyId: execution.journeyId, name: execution.name, customerId: execution.input.customerId, status })) return;
      // The event Step Functions publishes, to the run-ended function, as EventBridge delivers it (on the twin:
      // maybe lost, late or twice).
      await w.bus.deliverServiceEvent(
        statusChangeEvent(execution, status, w.clock.now()),
        RUN_ENDED.id,
        async (event) => {
          if (await ruleInvocationRefused('rapport-run-ended', event, RUN_ENDED.id, { ...(w.authorize && { authorize: w.authorize }), deadLetters: w.deadLetters })) return;
          return invokeLambda('rapport-run-ended', 60_000, (context, o) => runEnded(event as never, context, o));
        },
        (event, delivery) => runEndedAsync(event, delivery),
      );
    },
  });
  for (const journey of current.compiled) sfn.register(journey.id, journey.definition as unknown as AslDefinition, journey.version);
  // The functions' Step Functions API (the starter's, the router's, a step's self-resume). IAM first: a refused
  // call never reaches Step Functions (nor its injected faults).
  const api: Executions = w.stepFunctionsFaults ? failingExecutions(sfn, w.stepFunctionsFaults) : sfn;
  const executions = w.authorize ? authorizedExecutions(api, w.authorize, (token) => sfn.executionOfToken(token)) : api;
  const runtimeOf = (compiled: readonly CompiledJourney[]) =>
    createJourneyRuntime({
      journeys: w.triggerMaxAgeSeconds === undefined ? [...compiled] : compiled.map((j) => ({ ...j, triggerMaxAgeSeconds: w.triggerMaxAgeSeconds ?? null })),
      retired: [...retiredSpecs.values()],
      profiles: w.profiles,
      records,
      executions,
      clock: w.clock,
      consentMode: w.profileConfig.consentMode,
      log: (message, fields) => w.logger.info(message, fields),
    });
  let currentRuntime = runtimeOf(current.compiled);
  // The runtime of the journeys loaded last: the consumer, the starter, run-ended and the sweep call through this.
  const runtime: JourneyRuntime = {
    start: (...a) => currentRuntime.start(...a),
    applied: (...a) => currentRuntime.applied(...a),
    dropped: (...a) => currentRuntime.dropped(...a),
    route: (...a) => currentRuntime.route(...a),
    executionEnded: (...a) => currentRuntime.executionEnded(...a),
    reconcile: (...a) => currentRuntime.reconcile(...a),
    stopAll: (...a) => currentRuntime.stopAll(...a),
    get journeys() {
      return currentRuntime.journeys;
    },
  };
  holder.runtime = runtime;
  const runEnded = handlerFor(w.functions, 'rapport-run-ended', createRunEndedHandler(runtime, { logger: w.logger, metrics: w.metrics }));
  // A status change the twin delivers late: an async invocation, retried as Lambda does, then dead-lettered.
  const runEndedAsync = asyncLambdaTarget(runEnded, 'rapport-run-ended', { ...w.asyncRetries, deadLetters: w.deadLetters, ...(w.virtual && { clock: w.virtual }), ...(w.authorize && { authorize: w.authorize }) });
  // Executions saved in the data folder go on (waits at their due time, callback tasks on their tokens).
  sfn.resume();
  const starter = handlerFor(w.functions, 'rapport-starter', createStarterHandler(runtime, { logger: w.logger, metrics: w.metrics }));
  const starterTarget = asyncLambdaTarget(starter, 'rapport-starter', { ...w.asyncRetries, deadLetters: w.deadLetters, ...(w.virtual && { clock: w.virtual }), ...(w.authorize && { authorize: w.authorize }) });
  // The topology's trigger rules (as the CDK stack's): derived-event triggers only; the profile consumer enrols customer events' (runtime.applied).
  const triggerRules = (compiled: readonly CompiledJourney[]) => compiled.flatMap((journey) => journeyTriggerRules(journey).map((rule) => ({ name: rule.engineName, pattern: rule.pattern, target: starterTarget })));
  for (const rule of triggerRules(current.compiled)) w.bus.addRule(rule);

  /**
   * Reloads the journeys and templates from their folders without a restart, by the rules of a release: the files
   * are checked as at start (a broken one throws JourneyError and changes nothing); runs in flight finish on the
   * definition and templates they started with (their version's); new runs take the new version. Returns the
   * plan of what changed (as `rapport plan` shows it).
   */
  const reload = (): { plans: JourneyPlan[] } => {
    const topics = w.topicsFile?.read();
    const next = load(topics);
    if (topics !== undefined) w.topicsFile!.commit(topics);
    const before = current;
    const changedTemplate = (name: string) => templateFilesText(before.sources, name) !== templateFilesText(next.sources, name);
    const plans = planJourneys(before.journeys, next.journeys, changedTemplate);
    // What runs of a replaced version render from now on (without a data folder to keep their release).
    for (const [id, journey] of before.journeys) {
      if (next.journeys.get(id)?.version !== journey.version && !retired.has(`${id}\n${journey.version}`)) retired.set(`${id}\n${journey.version}`, before.templates);
    }
    // Likewise by template release (runs carry theirs): a template changed without a version bump is a new one.
    for (const journey of before.compiled) {
      const key = `${journey.id}\n${journey.version}\n${journey.release}`;
      const after = next.compiled.find((j) => j.id === journey.id);
      if (journey.release !== undefined && (after?.version !== journey.version || after.release !== journey.release) && !retired.has(key)) retired.set(key, before.templates);
    }
    for (const journey of before.compiled) {
      if (next.journeys.get(journey.id)?.version !== journey.version) retiredSpecs.set(`${journey.id}\n${journey.version}`, journeySpecOf(journey));
    }
    for (const journey of next.compiled) sfn.register(journey.id, journey.definition as unknown as AslDefinition, journey.version);
    // A rule kept by name keeps its place in the log; one gone is forgotten; a new one begins at the log's end.
    const rules = triggerRules(next.compiled);
    const kept = new Set(rules.map((rule) => rule.name));
    const had = new Set(triggerRules(before.compiled).map((rule) => rule.name));
    for (const name of had) if (!kept.has(name)) w.bus.removeRule(name);
    for (const rule of rules) {
      if (had.has(rule.name)) w.bus.replaceRule(rule);
      else w.bus.addRule(rule);
    }
    current = next;
    currentRuntime = runtimeOf(next.compiled);
    return { plans };
  };

  return {
    runtime,
    sfn,
    records,
    /** The journeys loaded last (at start or by `reload`). */
    get compiled(): readonly CompiledJourney[] {
      return current.compiled;
    },
    /** The specs of older versions and removed journeys whose runs may be in flight (`createJourneyRuntime`'s `retired`). */
    get retired(): readonly JourneySpec[] {
      return [...retiredSpecs.values()];
    },
    /** The templates loaded last: what journeys' current versions and broadcasts render. */
    templates,
    /** The templates' files loaded last, by `templateKey`. */
    get templateSources(): Readonly<Record<string, string>> {
      return current.sources;
    },
    reload,
  };
}

/**
 * The "Step Functions Execution Status Change" event AWS publishes when an execution ends (on the default bus;
 * RUN_ENDED's rule sends it to the run-ended function): its name, status, input and output as JSON strings.
 */
export function statusChangeEvent(execution: LocalExecution, status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT', at: Date): BusEvent {
  const stateMachineArn = `arn:aws:states:local:000000000000:stateMachine:Rapport-${execution.journeyId}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': RUN_ENDED.detailType,
    source: RUN_ENDED.source,
    account: '000000000000',
    time: at.toISOString(),
    region: 'local',
    resources: [`${stateMachineArn.replace(':stateMachine:', ':execution:')}:${execution.name}`],
    detail: {
      executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${execution.name}`,
      stateMachineArn,
      name: execution.name,
      status,
      startDate: execution.startedAt.getTime(),
      stopDate: (execution.stoppedAt ?? at).getTime(),
      input: JSON.stringify(execution.input),
      // AWS gives the output of a succeeded execution only.
      output: status === 'SUCCEEDED' && execution.output !== undefined ? JSON.stringify(execution.output) : null,
    },
  };
}
