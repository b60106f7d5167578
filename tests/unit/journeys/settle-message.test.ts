/**
 * Settling a send keeps what the provider said meanwhile: SES feedback (delivered, opened, ...) can arrive while
 * the message record is still `sending` (a slow answer, a Lambda timeout and its retry), and the settled record
 * must not erase it. What the claim wrote (its attempt) goes.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JourneyStore, type MessageRecord } from '../../../functions/journeys/store';
import { documentClient } from '../../../functions/profile';
import { ensureTable, profileTableDefinition, startDynalite, type LocalDynamo } from '../../../infra/embedded/dynamo';

describe('JourneyStore.settleMessage', () => {
  let dynamo: LocalDynamo;
  let doc: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynamo = await startDynalite();
    await ensureTable(dynamo.client, profileTableDefinition('profiles'));
    doc = documentClient(dynamo.client);
  });
  afterAll(() => dynamo.close());

  it('keeps feedback recorded while the send was still claimed, and drops the claim attempt', async () => {
    const store = new JourneyStore(doc, 'profiles');
    const base: MessageRecord = { journeyId: 'j', stepId: 's', executionName: 'e', channel: 'email', template: 't', kind: 'marketing', status: 'sending', at: '2026-03-02T10:00:00.000Z' };
    await store.recordMessage('c', { ...base, attempt: 'a-1' });
    expect(await store.markFeedback('c', 'e', 's', 'deliveredAt', '2026-03-02T10:00:01.000Z')).toBe(true);
    expect(await store.settleMessage('c', { ...base, status: 'sent', providerId: 'ses-1' })).toBe(true);
    const settled = await store.getMessage('c', 'e', 's');
    expect(settled).toMatchObject({ status: 'sent', providerId: 'ses-1', deliveredAt: '2026-03-02T10:00:01.000Z' });
    expect(settled?.attempt).toBeUndefined();
    // A settled send is settled: a second settle does nothing.
    expect(await store.settleMessage('c', { ...base, status: 'failed' })).toBe(false);
  });
});
