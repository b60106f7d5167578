import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV, systemClock } from '../../shared';
import { forgettingRecords, powertoolsDeduplicator } from '../ingest/dedupe';
import { awsCustomerJourneys } from '../journeys/aws';
import { awsProfileStore } from './aws';
import { createCustomerApiHandler } from './lambda';

const dynamodb = new DynamoDBClient({});
const journeys = awsCustomerJourneys(process.env, { dynamodb });

/**
 * Lambda entry point: the IAM-authorised customer admin API (GET/DELETE
 * /v1/customers/{id}, GET .../events, .../export, .../messages, .../journeys).
 * Erasure stops the customer's running journeys (StopExecution) before it
 * deletes their items, as the embedded engine does: nothing is sent after it.
 * It also forgets the ingest's idempotency records of their recent events.
 */
const idempotencyTable = process.env[ENV.IDEMPOTENCY_TABLE_NAME];
if (!idempotencyTable) throw new Error(`environment variable ${ENV.IDEMPOTENCY_TABLE_NAME} is not set`);
export const handler = createCustomerApiHandler({
  store: awsProfileStore(process.env, dynamodb),
  clock: systemClock,
  journeys: journeys.records,
  ingestRecords: forgettingRecords(powertoolsDeduplicator(new DynamoDBPersistenceLayer({ tableName: idempotencyTable, awsSdkV3Client: dynamodb }))),
  onErase: async (customerId) => {
    await journeys.stopAll(customerId, 'customer erased');
  },
});
