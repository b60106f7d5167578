/**
 * One-off for an AWS deployment upgraded from before link marks were keyed by a hash (2026-12): rewrites the old
 * `C#<customer>` / `N#<linked id>` items (the linked id in clear in the linking customer's partition, which the
 * erasure of the linked id does not reach) as `markLinks` writes them now (`X#<hash(customer)>` / `N#<hash(id)>` and a
 * pointer back under the linked id's tombstone partition), as the embedded engine does at start
 * (`migrateOldLinkMarkers`). Run it once with credentials that may Scan, PutItem and DeleteItem on the profile table:
 *
 *   npx tsx infra/tools/migrate-link-markers.ts <profile table name>
 *
 * Without it an old mark is still read and deleted by the erasure of the customer who made it, and by their next
 * successful write of that link; the erasure of the id it names (another customer's visitor) does not delete it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../functions/profile/aws';
import { ProfileStore } from '../../functions/profile/store';

const table = process.argv[2];
if (!table) {
  console.error('usage: npx tsx infra/tools/migrate-link-markers.ts <profile table name>');
  process.exit(2);
}
const rewritten = await new ProfileStore(documentClient(new DynamoDBClient({})), table).migrateOldLinkMarkers();
console.log(`${rewritten} link mark(s) rewritten keyed by a hash of the id they name`);
