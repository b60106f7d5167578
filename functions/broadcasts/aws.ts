import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { ENV, systemClock, templateKey, topicsOf } from '../../shared';
import { BROADCAST_ENV } from '../../shared/config/broadcast-env';
import { JOURNEY_BUNDLE, JOURNEY_ENV } from '../../shared/config/journey-env';
import { awsStepDeps, requireEnv } from '../journeys/aws';
import { createSendGateway } from '../journeys/gateway';
import { JourneyStore } from '../journeys/store';
import { readTemplates } from '../journeys/templates';
import { documentClient } from '../profile';
import { parseBroadcastRates } from '../../shared/broadcasts';
import { BroadcastLanes } from './lanes';
import { createBroadcastApi, createBroadcastService, type BroadcastExecutions } from './service';
import { BroadcastStore } from './store';

/** The folder the bundle was unpacked to (`/var/task` in Lambda). */
const BUNDLE_ROOT = import.meta.dirname;

/** StartExecution on the broadcast state machine; a name already used answers `exists` (Standard: idempotent on name). */
export function awsBroadcastExecutions(stateMachineArn: string, sfn: SFNClient = new SFNClient({})): BroadcastExecutions {
  return {
    async start(name, input) {
      try {
        await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return 'started';
      } catch (error) {
        if (error instanceof ExecutionAlreadyExists || (error as Error).name === 'ExecutionAlreadyExists') return 'exists';
        throw error;
      }
    },
  };
}

/** The broadcast API in AWS: the profile table, the state machine, and the bundled templates (a broadcast naming none gets a 400). */
export function awsBroadcastApi(env: NodeJS.ProcessEnv = process.env, clients: { dynamodb?: DynamoDBClient; sfn?: SFNClient } = {}) {
  const templates = readTemplates(env[JOURNEY_ENV.TEMPLATES_DIR] || join(BUNDLE_ROOT, JOURNEY_BUNDLE.templatesFolder));
  const doc = documentClient(clients.dynamodb ?? new DynamoDBClient({}));
  const tableName = requireEnv(env, ENV.PROFILE_TABLE_NAME);
  // What its messages earned: the router's credits, counted under `broadcast:<id>` as a journey's are under its id.
  const records = new JourneyStore(doc, tableName);
  return createBroadcastApi({
    store: new BroadcastStore(doc, tableName),
    executions: awsBroadcastExecutions(requireEnv(env, BROADCAST_ENV.STATE_MACHINE_ARN), clients.sfn),
    clock: systemClock,
    templateExists: (channel, template) => templateKey(template, channel) in templates,
    undeployedChannels: new Set(z.array(z.string()).parse(JSON.parse(env[BROADCAST_ENV.UNDEPLOYED_CHANNELS] ?? '[]'))),
    conversionEvents: new Set(JSON.parse(requireEnv(env, BROADCAST_ENV.CONVERSION_EVENTS)) as string[]),
    // The declared topics (ids and defaults; the names are the preference page's): a broadcast's topic must be one.
    topics: topicsOf(z.array(z.object({ id: z.string(), default: z.object({ 'opt-out': z.enum(['subscribed', 'unsubscribed']), 'opt-in': z.enum(['subscribed', 'unsubscribed']) }) })).parse(JSON.parse(env[BROADCAST_ENV.TOPICS] ?? '[]')).map((t) => ({ ...t, name: t.id }))),
    attributionCounters: (journeyId) => records.stats(journeyId),
  });
}

/** The broadcast page function in AWS: the journey step function's send gateway (channels, templates, policy), the broadcasts' store. */
export async function awsBroadcastService(env: NodeJS.ProcessEnv = process.env, clients: { dynamodb?: DynamoDBClient; sfn?: SFNClient } = {}) {
  const dynamodb = clients.dynamodb ?? new DynamoDBClient({});
  const step = await awsStepDeps(env, { dynamodb });
  const doc = documentClient(dynamodb);
  const tableName = requireEnv(env, ENV.PROFILE_TABLE_NAME);
  const rates = env[BROADCAST_ENV.BROADCAST_RATES] ? parseBroadcastRates(env[BROADCAST_ENV.BROADCAST_RATES], BROADCAST_ENV.BROADCAST_RATES) : {};
  return createBroadcastService({
    store: new BroadcastStore(doc, tableName),
    lanes: new BroadcastLanes(doc, tableName, rates, systemClock),
    executions: awsBroadcastExecutions(requireEnv(env, BROADCAST_ENV.STATE_MACHINE_ARN), clients.sfn),
    clock: systemClock,
    profiles: step.profiles,
    journeys: step.journeys,
    gateway: createSendGateway(step),
    defaultTimeZone: step.policy.defaultTimeZone,
  });
}
