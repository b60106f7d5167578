import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { ENV, systemClock, type ConsentMode } from '../../shared';
import { documentClient } from '../profile/aws';
import { ProfileStore } from '../profile/store';
import { secretUnsubscribeKeys } from '../journeys/unsubscribe';
import { loadTopicsFile } from '../journeys/topics';
import { BatchingPersistenceLayer, powertoolsDeduplicator } from './dedupe';
import type { IngestDeps } from './service';
import { compileSources, SourceConfigError, sourceFromSecretValue, type SourceCredentials, type SourceProvider } from './sources';
import { loadSenderTagPolicy } from './tags';
import { loadTrackingPlanFile } from './tracking-plan';
import { dynamoViolationLog } from './violations';

/** ENV.SOURCES: each source's secret, and what it may send (not secret; absent lists allow everything). */
const SourceRefs = z
  .array(z.object({ id: z.string(), secretArn: z.string(), events: z.array(z.string()).optional(), traits: z.array(z.string()).optional() }))
  .min(1);

function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new SourceConfigError(`environment variable ${name} is not set`);
  return value;
}

/** Sources read from Secrets Manager, cached 5 minutes so a rotated secret is picked up without a deploy. */
export function secretsManagerSources(env: NodeJS.ProcessEnv = process.env, client: SecretsManagerClient = new SecretsManagerClient({})): SourceProvider {
  const refs = SourceRefs.parse(JSON.parse(requireEnv(env, ENV.SOURCES)));
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  let last: { fingerprint: string; credentials: SourceCredentials } | undefined;
  return {
    async load() {
      // One source's unreadable or malformed secret disables that source only (its requests are refused, logged, counted).
      const unreadable = new Map<string, string>();
      const loaded = await Promise.all(
        refs.map(async ({ id, secretArn, events, traits }) => {
          try {
            const permissions = { ...(events !== undefined && { events }), ...(traits !== undefined && { traits }) };
            return sourceFromSecretValue(id, await provider.get(secretArn, { transform: 'json', maxAge: 300 }), permissions);
          } catch (error) {
            unreadable.set(id, `secret ${secretArn}: ${(error as Error).message}`);
            return undefined;
          }
        }),
      );
      // The same configuration compiles to the same credentials object: the service reports a broken source once per change.
      const sources = loaded.filter((source) => source !== undefined);
      const fingerprint = JSON.stringify([sources, [...unreadable]]);
      if (last?.fingerprint !== fingerprint) last = { fingerprint, credentials: compileSources(sources, unreadable) };
      return last.credentials;
    },
  };
}

/** The deployment's consent mode (`ENV.CONSENT_MODE`, as the journey and profile functions read it): the preference page's defaults. */
function consentModeOf(env: NodeJS.ProcessEnv): ConsentMode {
  const mode = env[ENV.CONSENT_MODE] ?? 'opt-out';
  if (mode !== 'opt-out' && mode !== 'opt-in') throw new SourceConfigError(`${ENV.CONSENT_MODE} must be opt-out or opt-in, got ${JSON.stringify(mode)}`);
  return mode;
}

/** The ingest function's dependencies in AWS, from its environment; tags.yaml and tracking-plan.yaml are bundled under ./config (as for the profile functions). */
export function awsIngestDeps(env: NodeJS.ProcessEnv = process.env): Omit<IngestDeps, 'observer'> {
  const eventBusName = requireEnv(env, ENV.EVENT_BUS_NAME);
  const client = new EventBridgeClient({});
  const unsubscribeSecretArn = env[ENV.UNSUBSCRIBE_SECRET];
  const secrets = new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({}) });
  const configDir = env[ENV.CONFIG_DIR] ?? join(import.meta.dirname, 'config');
  const doc = documentClient(new DynamoDBClient({}));
  const profileTable = requireEnv(env, ENV.PROFILE_TABLE_NAME);
  const profiles = new ProfileStore(doc, profileTable);
  return {
    // A JSON list of keys (the first signs, all verify) or one key, cached 5 minutes: a rotation needs no deploy.
    ...(unsubscribeSecretArn && { unsubscribeKeys: secretUnsubscribeKeys(secrets, unsubscribeSecretArn) }),
    sources: secretsManagerSources(env),
    senderTags: loadSenderTagPolicy(configDir),
    // tracking-plan.yaml is bundled beside tags.yaml; flagged events' violations go to the profile table (TPV# partitions).
    trackingPlan: loadTrackingPlanFile(configDir),
    violations: dynamoViolationLog(doc, profileTable, systemClock),
    dedupe: powertoolsDeduplicator(new BatchingPersistenceLayer({ tableName: requireEnv(env, ENV.IDEMPOTENCY_TABLE_NAME), awsSdkV3Client: new DynamoDBClient({}) })),
    putEvents: (entries) => client.send(new PutEventsCommand({ Entries: entries })),
    // Consent denials are recorded in the profile table (the customer's partition) before ingest answers;
    // an alias is checked against the joins there (GetItem of the forwarding records).
    consentHolds: profiles,
    identities: profiles,
    // The preference page: topics.yaml bundled beside tags.yaml (none declared without it); the profile read by GetItem (C#*).
    preferences: { topics: loadTopicsFile(configDir), consentMode: consentModeOf(env), profiles },
    clock: systemClock,
    eventBusName,
  };
}
