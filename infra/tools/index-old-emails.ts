/**
 * One-off for an AWS deployment upgraded from before customer search by email: gives every live profile with an
 * email address its email index keys (GSI3), as a profile written since has them. Run it once, after the deploy
 * that adds the index, with credentials that may Scan, GetItem and UpdateItem on the profile table:
 *
 *   npx tsx infra/tools/index-old-emails.ts <profile table name>
 *
 * Without it such a profile is found by `GET /v1/customers?email=` once it is written again (any event of theirs).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../functions/profile/aws';
import { ProfileStore } from '../../functions/profile/store';

const table = process.argv[2];
if (!table) {
  console.error('usage: npx tsx infra/tools/index-old-emails.ts <profile table name>');
  process.exit(2);
}
const indexed = await new ProfileStore(documentClient(new DynamoDBClient({})), table).indexOldEmails();
console.log(`${indexed} profile(s) given their email index keys`);
