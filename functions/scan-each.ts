import { ScanCommand, type DynamoDBDocumentClient, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';

/**
 * Every item a Scan returns, page after page, each handed to `each` in turn (awaited): the loop of the one-off
 * migrations (old violation items, old link markers, profiles before the email index), which never holds the
 * table in memory.
 */
export async function scanEach(doc: DynamoDBDocumentClient, input: ScanCommandInput, each: (item: Record<string, unknown>) => Promise<void>): Promise<void> {
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ ...input, ...(startKey && { ExclusiveStartKey: startKey }) }));
    for (const item of page.Items ?? []) await each(item);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
