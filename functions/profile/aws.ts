import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENV, systemClock } from '../../shared';
import type { JourneyRetentionInput } from '../../shared/segmentation';
import { loadProfileConfig, profileRetention } from './config';
import type { ProfileConsumerDeps } from './consumer';
import { ProfileStore } from './store';

function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/**
 * The one document client every function uses, in both homes. Senders' data is JSON, so every object is a
 * map: `convertClassInstanceToMap` keeps an object with an own key `constructor` (an F1 shop's
 * `{ constructor: { name: 'Ferrari' } }`) from being taken for a class instance and refused, which made a
 * valid event a dead letter.
 */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
}

/**
 * The profile store in AWS (the customer API's; its journey records share the client). Its erasures' tombstones live
 * `ERASURE_TOMBSTONE_DAYS` (the stack sets it on every function that erases: the customer API and the consumer).
 */
export function awsProfileStore(env: NodeJS.ProcessEnv = process.env, client: DynamoDBClient = new DynamoDBClient({})): ProfileStore {
  const days = Number(env[ENV.ERASURE_TOMBSTONE_DAYS]);
  return new ProfileStore(documentClient(client), requireEnv(env, ENV.PROFILE_TABLE_NAME), Number.isFinite(days) && days > 0 ? { tombstoneDays: days } : {});
}

/**
 * The profile functions' dependencies in AWS, from their environment; config files are bundled under ./config.
 * With `journeys` (the consumer's, from its bundled journeys.json), profiles keep only the recent events the
 * tag rules and those journeys read, as in the embedded engine.
 */
export function awsProfileDeps(env: NodeJS.ProcessEnv = process.env, journeys?: readonly JourneyRetentionInput[]): Omit<ProfileConsumerDeps, 'log'> {
  const config = loadProfileConfig(env[ENV.CONFIG_DIR] ?? join(import.meta.dirname, 'config'), env);
  const eventBridge = new EventBridgeClient({});
  return {
    store: awsProfileStore(env),
    segment: config.segmenter,
    putEvents: (entries) => eventBridge.send(new PutEventsCommand({ Entries: entries })),
    clock: systemClock,
    eventBusName: requireEnv(env, ENV.EVENT_BUS_NAME),
    timelineRetentionDays: config.timelineRetentionDays,
    declaredManualTags: config.manualTags,
    ...(journeys !== undefined && { recentEvents: profileRetention(config, journeys) }),
  };
}
