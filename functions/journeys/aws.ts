import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import { ENV, systemClock, type ConsentMode } from '../../shared';
import { JOURNEY_BUNDLE, JOURNEY_ENV, JOURNEYS_FILE_FORMAT } from '../../shared/config/journey-env';
import { createProfileConsumer, documentClient, loadProfileConfig, ProfileStore } from '../profile';
import { awsChannels, postWebhook, type OutboundWebhookTarget } from './channels/aws';
import type { Channels } from './channels/types';
import { segmentationConditions } from './conditions';
import { awsExecutions } from './executions';
import { DEFAULT_SEND_POLICY, type SendPolicy } from './policy';
import { releasedTemplates } from './releases';
import { JourneySpecSchema } from './journey-spec';
import { createJourneyRuntime, type JourneySpec } from './runtime';
import type { StepDeps } from './steps';
import { JourneyStore } from './store';
import { liquidTemplates, readTemplates } from './templates';
import { secretUnsubscribeKeys } from './unsubscribe';

/**
 * The journey functions' dependencies in AWS, built once at cold start from
 * their environment (names in `JOURNEY_ENV` and `ENV`) and the files synth
 * bundled next to the handler: `journeys/journeys.json`, `templates/`, `config/`.
 * Every value is checked here, so a misconfigured function fails at init with
 * the variable's name, not on the first event.
 */

/** The folder the bundle was unpacked to (`/var/task` in Lambda): the handler sits at its root. */
const BUNDLE_ROOT = import.meta.dirname;

/** A journey function's configuration is missing or malformed: it cannot start. */
export class JourneyConfigError extends Error {
  override readonly name = 'JourneyConfigError';
}

export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new JourneyConfigError(`environment variable ${name} is not set`);
  return value;
}

function parseJsonEnv<T>(env: NodeJS.ProcessEnv, name: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(requireEnv(env, name));
  } catch (error) {
    if (error instanceof JourneyConfigError) throw error;
    throw new JourneyConfigError(`environment variable ${name} is not JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new JourneyConfigError(`environment variable ${name}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function consentModeOf(env: NodeJS.ProcessEnv): ConsentMode {
  const mode = env[ENV.CONSENT_MODE] ?? 'opt-out';
  if (mode !== 'opt-out' && mode !== 'opt-in') throw new JourneyConfigError(`${ENV.CONSENT_MODE} must be opt-out or opt-in, got ${JSON.stringify(mode)}`);
  return mode;
}

// ---------------------------------------------------------------------------
// journeys.json: what the starter and the router need of each compiled journey
// ---------------------------------------------------------------------------

/**
 * `journeys.json`, written by the CDK stack at synth from the compiled journeys:
 * `{ "format": 1, "journeys": [JourneySpec, ...] }`.
 */
export const JourneysFileSchema = z.strictObject({
  format: z.literal(JOURNEYS_FILE_FORMAT),
  journeys: z.array(JourneySpecSchema),
  /** Older versions (and removed journeys) whose runs may be in flight: from the kept releases' `journey.json`. */
  retired: z.array(JourneySpecSchema).optional(),
});
export type JourneysFile = z.infer<typeof JourneysFileSchema>;

/** The journeys of a `journeys.json` file; throws naming the file when it is not one. */
export function readJourneySpecs(file: string): JourneySpec[] {
  return readJourneysFile(file).journeys;
}

/** The journeys of a `journeys.json` file and its retired versions; throws naming the file when it is not one. */
export function readJourneysFile(file: string): { journeys: JourneySpec[]; retired: JourneySpec[] } {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new JourneyConfigError(`cannot read the journeys file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = JourneysFileSchema.safeParse(value);
  if (!parsed.success) throw new JourneyConfigError(`${file} is not a journeys file: ${z.prettifyError(parsed.error)}`);
  const ids = parsed.data.journeys.map((j) => j.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new JourneyConfigError(`${file} lists journey "${twice}" twice`);
  return { journeys: parsed.data.journeys as JourneySpec[], retired: (parsed.data.retired ?? []) as JourneySpec[] };
}

/** The bundled `journeys.json` (or `JOURNEY_ENV.JOURNEYS_FILE`). */
const bundledJourneysFile = (env: NodeJS.ProcessEnv) => env[JOURNEY_ENV.JOURNEYS_FILE] || join(BUNDLE_ROOT, JOURNEY_BUNDLE.journeysFolder, JOURNEY_BUNDLE.journeysFile);

/** The journeys of the bundled `journeys.json` (or `JOURNEY_ENV.JOURNEYS_FILE`). */
export function awsJourneySpecs(env: NodeJS.ProcessEnv = process.env): JourneySpec[] {
  return readJourneySpecs(bundledJourneysFile(env));
}

/**
 * A state machine ARN without its name's end: partition, region, account, then
 * `stateMachine:` and the start of a name (Step Functions' name characters).
 */
const STATE_MACHINE_ARN_PREFIX = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9+!@.()=_'-]+$/;

/**
 * The state machine ARN of each journey of `journeys`: `JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX`
 * followed by the journey id (synth names every journey's state machine so).
 */
export function stateMachineArnsFrom(env: NodeJS.ProcessEnv, journeys: readonly Pick<JourneySpec, 'id'>[]): Record<string, string> {
  const prefix = stateMachineArnPrefixFrom(env);
  return Object.fromEntries(journeys.map((journey) => [journey.id, `${prefix}${journey.id}`]));
}

/** `JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX`, checked: a journey's state machine ARN is it plus the journey id. */
export function stateMachineArnPrefixFrom(env: NodeJS.ProcessEnv): string {
  const name = JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX;
  const prefix = requireEnv(env, name);
  if (!STATE_MACHINE_ARN_PREFIX.test(prefix)) {
    throw new JourneyConfigError(
      `environment variable ${name} must be a state machine ARN without the journey id, like "arn:aws:states:eu-west-1:123456789012:stateMachine:Rapport-dev_"; got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}

export interface AwsClients {
  dynamodb?: DynamoDBClient;
  sfn?: SFNClient;
  eventBridge?: EventBridgeClient;
  secretsManager?: SecretsManagerClient;
}

/**
 * The journey runtime of the starter and of the profile consumer's router:
 * journeys from `journeys.json`, runs and locks in the profile table, executions
 * on the journeys' state machines.
 */
export function awsJourneyRuntime(env: NodeJS.ProcessEnv = process.env, clients: AwsClients = {}) {
  const { journeys, retired } = readJourneysFile(bundledJourneysFile(env));
  const doc = documentClient(clients.dynamodb ?? new DynamoDBClient({}));
  const tableName = requireEnv(env, ENV.PROFILE_TABLE_NAME);
  return createJourneyRuntime({
    journeys,
    // Runs of older versions (and of removed journeys) end by their own version's goals and exits.
    retired,
    profiles: new ProfileStore(doc, tableName),
    records: new JourneyStore(doc, tableName),
    // A removed journey's runs are stopped on its machine too (named like the others').
    executions: awsExecutions(stateMachineArnsFrom(env, [...journeys, ...retired]), clients.sfn ?? new SFNClient({})),
    clock: systemClock,
    consentMode: consentModeOf(env),
  });
}

/**
 * What the customer API needs of journeys in AWS: the customer's journey records
 * (`GET .../messages`, `GET .../journeys`) and `stopAll`, which erasure calls
 * before it deletes anything, so no run of an erased customer sends again. The
 * runtime is the starter's (journeys.json, state machine ARNs); it only stops.
 */
export function awsCustomerJourneys(env: NodeJS.ProcessEnv = process.env, clients: AwsClients = {}) {
  const dynamodb = clients.dynamodb ?? new DynamoDBClient({});
  const runtime = awsJourneyRuntime(env, { ...clients, dynamodb });
  const records = new JourneyStore(documentClient(dynamodb), requireEnv(env, ENV.PROFILE_TABLE_NAME));
  return {
    records: { messages: (customerId: string) => records.messages(customerId), runs: (customerId: string) => records.runs(customerId) },
    stopAll: (customerId: string, cause: string) => runtime.stopAll(customerId, cause),
  };
}

/**
 * The run-ended function's runtime: it only records the end of a run and frees
 * its lock (`executionEnded`), so it needs the profile table and nothing else;
 * it never starts or stops an execution (an attempt would throw).
 */
export function awsRunEndedRuntime(env: NodeJS.ProcessEnv = process.env, clients: Pick<AwsClients, 'dynamodb'> = {}) {
  const doc = documentClient(clients.dynamodb ?? new DynamoDBClient({}));
  const tableName = requireEnv(env, ENV.PROFILE_TABLE_NAME);
  return createJourneyRuntime({
    journeys: [],
    profiles: new ProfileStore(doc, tableName),
    records: new JourneyStore(doc, tableName),
    executions: awsExecutions({}),
    clock: systemClock,
    consentMode: consentModeOf(env),
  });
}

/**
 * The profile consumer's `afterApply` in AWS: the journey router resumes the
 * customer's runs waiting for this event and stops runs whose goal or exit it is,
 * then the customer is enrolled in the journeys the event triggers (`applied`):
 * the profile holds the event by then, whichever invocation ran first.
 * Wire it in `functions/profile/consumer-handler.ts`:
 * `createProfileConsumerHandler(awsProfileDeps(), { afterApply: awsJourneyRouter() })`.
 */
export function awsJourneyRouter(env: NodeJS.ProcessEnv = process.env, clients: AwsClients = {}) {
  const runtime = awsJourneyRuntime(env, clients);
  return (event: EventBridgeEvent<string, unknown>, customerId: string, ids?: readonly string[]) => runtime.applied(event, customerId, ids);
}

/**
 * The profile consumer's journey hooks in AWS, on one runtime: `afterApply` (the router, then enrolment:
 * `awsJourneyRouter`) and `afterDrop` (a dropped event of an erased life counts `skipped.erased`).
 */
export function awsJourneyConsumerHooks(env: NodeJS.ProcessEnv = process.env, clients: AwsClients = {}) {
  const runtime = awsJourneyRuntime(env, clients);
  return {
    afterApply: (event: EventBridgeEvent<string, unknown>, customerId: string, ids?: readonly string[]) => runtime.applied(event, customerId, ids),
    afterDrop: (event: EventBridgeEvent<string, unknown>, _customerId: string, reason: string) => runtime.dropped(event, reason),
    /** The consumer's own erasures (the visitor of a dropped event of an erased customer) stop the visitor's runs, as DELETE does. */
    onErase: async (id: string) => void (await runtime.stopAll(id, 'customer erased')),
  };
}

/**
 * The sweep's reconciling of journey runs in AWS (`reconcile`): runs in the profile table's run index,
 * checked with DescribeExecution on the state machine the stage's ARN prefix and the run's journey id
 * name (no journeys.json: a run of a journey since removed is reconciled too). Ends what it finds ended.
 */
export function awsRunReconciler(env: NodeJS.ProcessEnv = process.env, clients: Pick<AwsClients, 'dynamodb' | 'sfn'> = {}) {
  return awsSweepJourneys(env, clients).reconcile;
}

/**
 * The sweep's journey runtime in AWS: `reconcile` (`awsRunReconciler`) and `stopAll`, which the sweep's finishing of an
 * interrupted erasure calls for each id it reaches (StopExecution on the state machine the stage's prefix and the
 * run's journey id name), as DELETE does.
 */
export function awsSweepJourneys(env: NodeJS.ProcessEnv = process.env, clients: Pick<AwsClients, 'dynamodb' | 'sfn'> = {}) {
  const doc = documentClient(clients.dynamodb ?? new DynamoDBClient({}));
  const tableName = requireEnv(env, ENV.PROFILE_TABLE_NAME);
  const prefix = stateMachineArnPrefixFrom(env);
  const runtime = createJourneyRuntime({
    journeys: [],
    profiles: new ProfileStore(doc, tableName),
    records: new JourneyStore(doc, tableName),
    executions: awsExecutions((journeyId) => `${prefix}${journeyId}`, clients.sfn ?? new SFNClient({})),
    clock: systemClock,
    consentMode: consentModeOf(env),
  });
  return {
    reconcile: () => runtime.reconcile(),
    stopAll: (customerId: string, cause: string) => runtime.stopAll(customerId, cause),
  };
}

// ---------------------------------------------------------------------------
// The step function
// ---------------------------------------------------------------------------

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time of day like "21:00"');
const SendPolicySchema = z.strictObject({
  frequencyCap: z.number().int().nonnegative(),
  frequencyWindowDays: z.number().int().positive(),
  frequencyCapMaxDelayDays: z.number().int().nonnegative().default(DEFAULT_SEND_POLICY.frequencyCapMaxDelayDays),
  quietHours: z.strictObject({ start: Clock, end: Clock }).nullable(),
  defaultTimeZone: z.string().min(1),
});
/** `JOURNEY_ENV.SEND_POLICY` as the CDK stack writes it. */
export type SendPolicySetting = z.input<typeof SendPolicySchema>;

/** The send policy: consent mode from `ENV.CONSENT_MODE`, the rest from `JOURNEY_ENV.SEND_POLICY` (defaults when unset). */
export function sendPolicyFrom(env: NodeJS.ProcessEnv): SendPolicy {
  const consentMode = consentModeOf(env);
  if (!env[JOURNEY_ENV.SEND_POLICY]) return { ...DEFAULT_SEND_POLICY, consentMode };
  const { quietHours, ...rest } = parseJsonEnv(env, JOURNEY_ENV.SEND_POLICY, SendPolicySchema);
  return { ...rest, consentMode, ...(quietHours !== null && { quietHours }) };
}

const WebhookTargetsSchema = z.record(z.string(), z.strictObject({ url: z.url({ protocol: /^https$/ }), secretArn: z.string().startsWith('arn:') }));

/** The Meta Cloud API version WhatsApp messages are written for, unless the deployment says (`JOURNEY_ENV.WHATSAPP_META_API_VERSION`). */
export const WHATSAPP_META_API_VERSION = 'v20.0';

/** Secrets are cached this long, so a rotated webhook secret is picked up without a deploy. */
const SECRET_MAX_AGE_SECONDS = 300;

/**
 * Channels in AWS: SES v2 email from `JOURNEY_ENV.EMAIL_FROM_ADDRESS`, End User
 * Messaging SMS from `JOURNEY_ENV.SMS_ORIGINATION_IDENTITY`, and signed webhooks
 * to `JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS`, whose secrets are read from Secrets
 * Manager when a webhook is posted (cached five minutes).
 */
export function awsJourneyChannels(env: NodeJS.ProcessEnv, secrets: SecretsProvider, doFetch: typeof fetch = fetch): Channels {
  const targets = env[JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS] ? parseJsonEnv(env, JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS, WebhookTargetsSchema) : {};
  const configurationSet = env[JOURNEY_ENV.EMAIL_CONFIGURATION_SET];
  const smsOriginationIdentity = env[JOURNEY_ENV.SMS_ORIGINATION_IDENTITY];
  const whatsappPhoneNumberId = env[JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID];
  const pushPlatformApplicationArn = env[JOURNEY_ENV.PUSH_PLATFORM_APPLICATION_ARN];
  const channels = awsChannels({
    fromAddress: requireEnv(env, JOURNEY_ENV.EMAIL_FROM_ADDRESS),
    ...(configurationSet && { configurationSet }),
    ...(smsOriginationIdentity && { smsOriginationIdentity }),
    ...(whatsappPhoneNumberId && { whatsapp: { originationPhoneNumberId: whatsappPhoneNumberId, metaApiVersion: env[JOURNEY_ENV.WHATSAPP_META_API_VERSION] || WHATSAPP_META_API_VERSION } }),
    ...(pushPlatformApplicationArn && { push: { platformApplicationArn: pushPlatformApplicationArn } }),
    webhooks: {},
  });
  return {
    ...(channels.whatsapp !== undefined && { whatsapp: channels.whatsapp }),
    ...(channels.push !== undefined && { push: channels.push }),
    email: (message) => channels.email(message),
    sms: (message) => {
      if (!smsOriginationIdentity) throw new JourneyConfigError(`no SMS origination identity is configured (${JOURNEY_ENV.SMS_ORIGINATION_IDENTITY})`);
      return channels.sms(message);
    },
    async webhook(message) {
      const target = targets[message.target];
      if (!target) return postWebhook(doFetch, {}, message); // throws: no outbound webhook of that name
      const secret = await secrets.get(target.secretArn, { maxAge: SECRET_MAX_AGE_SECONDS });
      if (typeof secret !== 'string' || secret === '') throw new JourneyConfigError(`the secret of outbound webhook "${message.target}" is empty or binary`);
      const resolved: Record<string, OutboundWebhookTarget> = { [message.target]: { url: target.url, secret: secret.trim() } };
      return postWebhook(doFetch, resolved, message);
    },
  };
}

/**
 * The step function's dependencies in AWS. The keys that sign unsubscribe links
 * are read from Secrets Manager when a message needs one, cached 5 minutes, so a
 * rotation (a JSON list in the secret, newest first) takes effect without a deploy.
 */
export async function awsStepDeps(env: NodeJS.ProcessEnv = process.env, clients: AwsClients & { fetch?: typeof fetch } = {}): Promise<StepDeps> {
  const config = loadProfileConfig(env[ENV.CONFIG_DIR] || join(BUNDLE_ROOT, 'config'), env);
  const doc = documentClient(clients.dynamodb ?? new DynamoDBClient({}));
  const tableName = requireEnv(env, ENV.PROFILE_TABLE_NAME);
  const eventBusName = requireEnv(env, ENV.EVENT_BUS_NAME);
  const eventBridge = clients.eventBridge ?? new EventBridgeClient({});
  const secrets = new SecretsProvider({ awsSdkV3Client: clients.secretsManager ?? new SecretsManagerClient({}) });
  const profiles = new ProfileStore(doc, tableName);
  const consumer = createProfileConsumer({
    store: profiles,
    segment: config.segmenter,
    putEvents: (entries) => eventBridge.send(new PutEventsCommand({ Entries: entries })),
    clock: systemClock,
    eventBusName,
    timelineRetentionDays: config.timelineRetentionDays,
    log: () => undefined,
  });
  const publicUrl = requireEnv(env, ENV.PUBLIC_URL);
  const unsubscribeKeys = secretUnsubscribeKeys(secrets, requireEnv(env, ENV.UNSUBSCRIBE_SECRET));
  return {
    profiles,
    journeys: new JourneyStore(doc, tableName),
    channels: awsJourneyChannels(env, secrets, clients.fetch),
    templates: liquidTemplates(readTemplates(env[JOURNEY_ENV.TEMPLATES_DIR] || join(BUNDLE_ROOT, JOURNEY_BUNDLE.templatesFolder))),
    // A run renders the template release it started with (compiled into its steps): synth bundles every kept
    // release but the current one; the current release, and one never recorded, render the current templates.
    templatesOf: releasedTemplates(env[JOURNEY_ENV.RELEASES_DIR] || join(BUNDLE_ROOT, JOURNEY_BUNDLE.releasesFolder)),
    evaluate: segmentationConditions(config.segmentation),
    policy: sendPolicyFrom(env),
    clock: systemClock,
    unsubscribe: { baseUrl: publicUrl, keys: unsubscribeKeys },
    mutateProfile: consumer.mutate,
    // A task token carries its execution: no state machine ARN is needed to resume it.
    sendTaskSuccess: (token, output) => awsExecutions({}, clients.sfn ?? new SFNClient({})).sendTaskSuccess(token, output),
  };
}
