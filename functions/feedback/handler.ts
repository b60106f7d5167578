import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ENV, systemClock, type BusEntry } from '../../shared';
import { JourneyStore } from '../journeys/store';
import { documentClient, ProfileStore } from '../profile';
import { createSesFeedbackHandler } from './lambda';

/**
 * Lambda entry point: target of the rule on the default bus for SES events of Rapport's configuration
 * set (bounce, complaint, delivery, open, click, reject, delay); customer events go to the Rapport bus.
 */
const env = process.env;
const required = (name: string) => {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const doc = documentClient(new DynamoDBClient({}));
const tableName = required(ENV.PROFILE_TABLE_NAME);
const eventBridge = new EventBridgeClient({});
export const handler = createSesFeedbackHandler({
  profiles: new ProfileStore(doc, tableName),
  messages: new JourneyStore(doc, tableName),
  putEvents: (entries: BusEntry[]) => eventBridge.send(new PutEventsCommand({ Entries: entries })),
  clock: systemClock,
  eventBusName: required(ENV.EVENT_BUS_NAME),
});
