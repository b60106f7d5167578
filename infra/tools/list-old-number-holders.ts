/**
 * One-off for an AWS deployment upgraded from before SMS and WhatsApp denials held for the phone number: lists every
 * live profile with a phone number as a holder of it (`AH#<sha256(number)>` / `H#<sha256(id)>`), as a profile written
 * since is. Erasure keeps a number's denial while a listed record has the number: without it, erasing the record that
 * sent STOP would free the number although an older record (a guest checkout) still has it. Run it once, after the
 * deploy, with credentials that may Scan, Query, GetItem, PutItem, DeleteItem and UpdateItem on the profile table:
 *
 *   npx tsx infra/tools/list-old-number-holders.ts <profile table name>
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../../functions/profile/aws';
import { ProfileStore } from '../../functions/profile/store';

const table = process.argv[2];
if (!table) {
  console.error('usage: npx tsx infra/tools/list-old-number-holders.ts <profile table name>');
  process.exit(2);
}
const listed = await new ProfileStore(documentClient(new DynamoDBClient({})), table).listOldNumberHolders();
console.log(`${listed} profile(s) listed as holders of their phone number`);
