import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV, systemClock } from '../../shared';
import { dynamoViolationLog } from '../ingest/violations';
import { awsCustomerJourneys } from '../journeys/aws';
import { awsProfileStore, documentClient } from './aws';
import { loadNamedSegments } from './config';
import { createCustomerApiHandler } from './lambda';

const dynamodb = new DynamoDBClient({});
const profileTable = process.env[ENV.PROFILE_TABLE_NAME];
const journeys = awsCustomerJourneys(process.env, { dynamodb });
const configDir = process.env[ENV.CONFIG_DIR];

/**
 * Lambda entry point: the IAM-authorised customer admin API (GET/DELETE
 * /v1/customers/{id}, GET .../events, .../export, .../messages, .../journeys;
 * GET /v1/tracking-plan/violations; GET /v1/segments, /v1/segments/{id},
 * /v1/segments/{id}/customers).
 * Erasure stops the customer's running journeys (StopExecution) before it
 * deletes their items, as the embedded engine does: nothing is sent after it.
 * The ingest's idempotency records of their events stay (a hash of source and
 * messageId, no customer data, 72 hours): a sender's retry of a pre-erasure
 * event without a timestamp of its own is a duplicate at the door, not a new
 * life for the customer.
 */
export const handler = createCustomerApiHandler({
  store: awsProfileStore(process.env, dynamodb),
  clock: systemClock,
  journeys: journeys.records,
  ...(configDir !== undefined && { namedSegments: loadNamedSegments(configDir) }),
  // GET /v1/tracking-plan/violations: what ingest recorded for flagged events.
  ...(profileTable !== undefined && { violations: dynamoViolationLog(documentClient(dynamodb), profileTable, systemClock) }),
  ...(process.env[ENV.ERASURE_TOMBSTONE_DAYS] && { tombstoneDays: Number(process.env[ENV.ERASURE_TOMBSTONE_DAYS]) }),
  onErase: async (customerId) => {
    await journeys.stopAll(customerId, 'customer erased');
  },
});
