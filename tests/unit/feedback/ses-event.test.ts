/**
 * The SES event as AWS documents it, and what Rapport makes of it. The fields of each record are those of
 * "Contents of event data that Amazon SES publishes" (docs.aws.amazon.com/ses/latest/dg/event-publishing-
 * retrieving-sns-contents.html; the EventBridge destination puts the same record in `detail`), the event types
 * and `detail-type`s those of "Amazon SES events" (docs.aws.amazon.com/eventbridge/latest/ref/events-ref-ses.html).
 * The embedded outbox's simulated feedback must have exactly that shape, or the engine tests prove nothing about AWS.
 */
import { describe, expect, it } from 'vitest';
import { decodeTagValue, encodeTagValue, feedbackOf, SES_DETAIL_TYPES, sesFeedbackPattern, SesEventDetailSchema } from '../../../functions/feedback';
import { sesRequest } from '../../../functions/journeys/channels/aws';
import { sesFeedbackEntry, SIMULATED_FEEDBACK, type OutboxEntry } from '../../../infra/embedded/outbox';
import { startsNewLife } from '../../../functions/profile';
import { matchesEventPattern } from '../../../shared';

/** SES's documented bounce record (the docs' example), tagged as Rapport tags its emails. */
const documentedBounce = {
  eventType: 'Bounce',
  bounce: {
    bounceType: 'Permanent',
    bounceSubType: 'General',
    bouncedRecipients: [{ emailAddress: 'recipient@example.com', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
    timestamp: '2017-08-05T00:41:02.669Z',
    feedbackId: '01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000',
    reportingMTA: 'dsn; mta.example.com',
  },
  mail: {
    timestamp: '2017-08-05T00:40:02.012Z',
    source: 'Sender Name <sender@example.com>',
    sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/sender@example.com',
    sendingAccountId: '123456789012',
    messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
    destination: ['recipient@example.com'],
    headersTruncated: false,
    headers: [{ name: 'From', value: 'Sender Name <sender@example.com>' }],
    commonHeaders: { from: ['Sender Name <sender@example.com>'], to: ['recipient@example.com'], messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000', subject: 'Message sent from Amazon SES' },
    tags: {
      'ses:configuration-set': ['ConfigSet'],
      'ses:source-ip': ['192.0.2.0'],
      'ses:from-domain': ['example.com'],
      'ses:caller-identity': ['ses_user'],
      journey: ['welcome'],
      step: ['send-welcome'],
      execution: ['welcome-0123abcd'],
      customer: [encodeTagValue('ada@shop:42')!],
    },
  },
};

/** The documented fields of each record (required ones; SES may add optional ones, e.g. a bounce's remoteMtaIp). */
const DOCUMENTED_FIELDS = {
  envelope: ['account', 'detail', 'detail-type', 'id', 'region', 'resources', 'source', 'time', 'version'],
  mail: ['commonHeaders', 'destination', 'headers', 'headersTruncated', 'messageId', 'sendingAccountId', 'source', 'sourceArn', 'tags', 'timestamp'],
  bounce: ['bounceSubType', 'bounceType', 'bouncedRecipients', 'feedbackId', 'reportingMTA', 'timestamp'],
  complaint: ['arrivalDate', 'complainedRecipients', 'complaintFeedbackType', 'complaintSubType', 'feedbackId', 'timestamp', 'userAgent'],
  delivery: ['processingTimeMillis', 'recipients', 'remoteMtaIp', 'reportingMTA', 'smtpResponse', 'timestamp'],
  open: ['ipAddress', 'timestamp', 'userAgent'],
  click: ['ipAddress', 'link', 'linkTags', 'timestamp', 'userAgent'],
} as const;

const email: Extract<OutboxEntry, { channel: 'email' }> = {
  channel: 'email',
  outboxId: 'outbox-7',
  at: '2026-03-02T10:00:00.000Z',
  to: 'ada@example.com',
  subject: 'Welcome',
  text: 'Hello',
  headers: {},
  tags: { journey: 'welcome', step: 'send-welcome', execution: 'welcome-0123abcd', customer: 'ada@shop:42' },
};

describe('SES events on EventBridge', () => {
  it('the rule matches the documented source and detail-types, and nothing of Rapport', () => {
    expect(SES_DETAIL_TYPES).toEqual({
      Bounce: 'Email Bounced',
      Complaint: 'Email Complaint Received',
      Delivery: 'Email Delivered',
      Open: 'Email Opened',
      Click: 'Email Clicked',
      Reject: 'Email Rejected',
      DeliveryDelay: 'Email Delivery Delayed',
    });
    const event = (source: string, detailType: string, set = 'ConfigSet') => ({ version: '0', id: '1', source, 'detail-type': detailType, account: '1', time: '', region: '', resources: [], detail: { ...documentedBounce, mail: { ...documentedBounce.mail, tags: { ...documentedBounce.mail.tags, 'ses:configuration-set': [set] } } } });
    const pattern = sesFeedbackPattern('ConfigSet');
    expect(matchesEventPattern(pattern, event('aws.ses', 'Email Bounced'))).toBe(true);
    expect(matchesEventPattern(pattern, event('aws.ses', 'Email Bounced', 'another-stage'))).toBe(false);
    expect(matchesEventPattern(pattern, event('aws.ses', 'Email Sent'))).toBe(false);
    expect(matchesEventPattern(pattern, event('rapport.ingest', 'Email Bounced'))).toBe(false);
  });

  it("the outbox's simulated feedback has exactly the documented shape", () => {
    const now = new Date('2026-03-02T10:05:00Z');
    for (const type of ['bounce', 'complaint', 'delivery', 'open', 'click'] as const) {
      const entry = sesFeedbackEntry(email, { type }, now);
      const detail = JSON.parse(entry.Detail) as Record<string, Record<string, unknown>>;
      expect(entry.Source).toBe('aws.ses');
      expect(Object.keys(detail).sort()).toEqual(['eventType', 'mail', type].sort());
      expect(Object.keys(detail.mail!).sort()).toEqual(DOCUMENTED_FIELDS.mail);
      expect(Object.keys(detail[type]!).sort()).toEqual([...DOCUMENTED_FIELDS[type]].sort());
      // Tags as SES publishes them: each a list of values, SES's own beside the message's.
      expect(detail.mail!.tags).toMatchObject({ 'ses:configuration-set': [expect.any(String)], customer: [encodeTagValue('ada@shop:42')] });
      expect(SesEventDetailSchema.safeParse(detail).success).toBe(true);
    }
    expect(SIMULATED_FEEDBACK).toEqual(['bounce', 'complaint', 'delivery', 'open', 'click', 'reject', 'deliveryDelay']);
  });

  it('maps the documented bounce record to a hard bounce that suppresses, with a messageId from its feedbackId', () => {
    const feedback = feedbackOf('Email Bounced', documentedBounce, '2017-08-05T00:41:03.000Z');
    expect(feedback).toEqual({
      ok: true,
      kind: 'bounced',
      at: '2017-08-05T00:41:02.669Z',
      message: { customerId: 'ada@shop:42', journeyId: 'welcome', stepId: 'send-welcome', executionName: 'welcome-0123abcd' },
      suppression: { reason: 'hard-bounce', at: '2017-08-05T00:41:02.669Z' },
      // The bounced recipient: what the suppression suppresses, whatever address the customer has when it arrives.
      to: 'recipient@example.com',
      event: {
        specVersion: 1,
        type: 'track',
        messageId: expect.stringMatching(/^ses-[\w-]{40}$/),
        userId: 'ada@shop:42',
        event: 'Message Bounced',
        properties: { channel: 'email', journeyId: 'welcome', stepId: 'send-welcome', bounceType: 'hard', reason: 'Permanent/General' },
        traits: {},
        context: {},
        timestamp: '2017-08-05T00:41:02.669Z',
        receivedAt: '2017-08-05T00:41:03.000Z',
        sourceId: 'rapport.ses',
      },
    });
    // The same SES event received again, later: the same messageId (the consumer drops it as a duplicate).
    const again = feedbackOf('Email Bounced', documentedBounce, '2017-08-05T01:00:00.000Z');
    expect(again.ok && again.event?.messageId).toBe(feedback.ok && feedback.event?.messageId);
  });

  it('a transient bounce is soft and suppresses nothing; a complaint suppresses with reason complaint', () => {
    const soft = feedbackOf('Email Bounced', { ...documentedBounce, bounce: { ...documentedBounce.bounce, bounceType: 'Transient' } }, '2017-08-05T00:41:03.000Z');
    expect(soft).toMatchObject({ ok: true, event: { properties: { bounceType: 'soft' } } });
    expect(soft).not.toHaveProperty('suppression');
    const complaint = JSON.parse(sesFeedbackEntry(email, { type: 'complaint' }, new Date('2026-03-02T10:05:00Z')).Detail) as unknown;
    expect(feedbackOf('Email Complaint Received', complaint, '2026-03-02T10:05:01.000Z')).toMatchObject({
      ok: true,
      kind: 'complained',
      suppression: { reason: 'complaint', at: '2026-03-02T10:05:00.000Z' },
      event: { event: 'Message Complained', properties: { channel: 'email', complaintType: 'abuse' } },
    });
  });

  it("drops an email Rapport did not tag, a detail-type that does not match the record, and what is not an SES record", () => {
    const { journey: _j, ...otherTags } = documentedBounce.mail.tags;
    expect(feedbackOf('Email Bounced', { ...documentedBounce, mail: { ...documentedBounce.mail, tags: otherTags } }, '2017-08-05T00:41:03.000Z')).toEqual({ ok: false, reason: 'untagged' });
    expect(feedbackOf('Email Delivered', documentedBounce, '2017-08-05T00:41:03.000Z')).toEqual({ ok: false, reason: 'ignored-type' });
    expect(feedbackOf('Email Bounced', { eventType: 'Bounce' }, '2017-08-05T00:41:03.000Z')).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('message tags carry Rapport ids through SES', () => {
  it('any id comes back exactly from a tag value SES accepts', () => {
    for (const id of ['c-42', 'ada@shop.example', 'anon:9f1c', 'b64-looks-encoded', 'ünïcødé id', 'x'.repeat(180)]) {
      const tag = encodeTagValue(id)!;
      expect(tag).toMatch(/^[A-Za-z0-9_-]{1,256}$/);
      expect(decodeTagValue(tag)).toBe(id);
    }
    expect(encodeTagValue('é'.repeat(200))).toBeUndefined();
  });

  it('the SES request carries the ids encoded, no address or other PII', () => {
    const request = sesRequest({ ...email, html: undefined } as never, { fromAddress: 'hello@shop.example', configurationSet: 'rapport-prod' });
    expect(request.EmailTags).toEqual([
      { Name: 'journey', Value: 'welcome' },
      { Name: 'step', Value: 'send-welcome' },
      { Name: 'execution', Value: 'welcome-0123abcd' },
      { Name: 'customer', Value: encodeTagValue('ada@shop:42') },
    ]);
    expect(request.ConfigurationSetName).toBe('rapport-prod');
    expect(JSON.stringify(request.EmailTags)).not.toContain('ada@example.com');
  });
});

describe('feedback on an erased customer', () => {
  it('never starts a new life, even dated and received after the erasure (a click on an old email)', () => {
    const tombstone = { erasedAt: '2026-03-02T10:00:00.000Z', completedAt: '2026-03-02T10:00:01.000Z' };
    const after = { timestamp: '2026-03-03T10:00:00.000Z', receivedAt: '2026-03-03T10:00:01.000Z' };
    expect(startsNewLife({ ...after, sourceId: 'rapport.ses' }, tombstone)).toBe(false);
    expect(startsNewLife({ ...after, sourceId: 'default' }, tombstone)).toBe(true);
  });
});
