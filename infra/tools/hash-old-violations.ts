/**
 * One-off for an AWS deployment upgraded from before the tracking-plan violations kept a hash of the messageId
 * (5e95bcb): rewrites the old `TPV#` items (raw messageId in an attribute and in the sort key) in their hashed
 * form, as the embedded engine does at start (`hashOldViolations`). Run it once with credentials that may Scan,
 * PutItem and DeleteItem on the profile table:
 *
 *   npx tsx infra/tools/hash-old-violations.ts <profile table name>
 *
 * Without it the old items go by their TTL (30 days after they were recorded; DynamoDB deletes expired items
 * within days); until then an erasure does not reach a messageId built from the customer's email or id.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { hashOldViolations } from '../../functions/ingest/violations';
import { documentClient } from '../../functions/profile/aws';

const table = process.argv[2];
if (!table) {
  console.error('usage: npx tsx infra/tools/hash-old-violations.ts <profile table name>');
  process.exit(2);
}
const rewritten = await hashOldViolations(documentClient(new DynamoDBClient({})), table);
console.log(`${rewritten} violation item(s) rewritten with a hash of the messageId`);
