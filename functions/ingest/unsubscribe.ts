import { randomUUID } from 'node:crypto';
import { consentChanges, consentRecord, EVENTS, ONE_CLICK_SOURCE_ID, publishEntries, toBusEntry, type Clock, type NormalisedEvent, type PutEvents } from '../../shared';
import { verifyUnsubscribe } from '../journeys/unsubscribe';
import { recordHolds, type ConsentHolds } from './consent';
import type { IngestRequest, IngestResponse } from './service';

const page = (status: number, title: string, body: string): IngestResponse => ({
  statusCode: status,
  headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-robots-tag': 'noindex' },
  body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head><body style="font-family:system-ui;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>${title}</h1>${body}</body></html>`,
});

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * One-click unsubscribe (RFC 8058), served by Rapport itself. GET shows a
 * confirmation page (link scanners follow GETs, so GET changes nothing); POST —
 * what mail clients send for `List-Unsubscribe-Post: List-Unsubscribe=One-Click` —
 * records the denial (the send step honours it at once) and puts an
 * `Unsubscribed` event on the bus, which updates the profile's consent.
 */
export async function handleUnsubscribe(
  request: IngestRequest,
  deps: { keys: readonly string[]; putEvents: PutEvents; clock: Clock; eventBusName?: string; consentHolds?: ConsentHolds },
): Promise<IngestResponse> {
  const url = new URL(request.path, 'http://localhost');
  const link = verifyUnsubscribe(deps.keys, url.searchParams);
  if (!link) return page(400, 'This unsubscribe link is not valid', '<p>It may have been altered or cut short. Use the link in the latest message you received.</p>');
  const method = request.method.toUpperCase();
  if (method === 'GET') {
    return page(
      200,
      `Unsubscribe from ${link.channel} messages?`,
      `<form method="post" action="${escapeHtml(url.pathname + url.search)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
    );
  }
  if (method !== 'POST') return page(405, 'Method not allowed', '');
  const now = deps.clock.now();
  const event: NormalisedEvent = {
    specVersion: 1,
    type: 'track',
    // One per click: every click is its own denial. An id shared by clicks (it once was per customer,
    // channel and minute) drops a later click as a duplicate of an earlier one, and a re-subscribe in
    // between then wins. A double click publishes two denials, which is harmless: a denial is idempotent in effect.
    messageId: `unsub-${randomUUID()}`,
    userId: link.customerId,
    event: EVENTS.UNSUBSCRIBED,
    properties: { channel: link.channel, method: 'one-click' },
    traits: {},
    context: {},
    timestamp: now.toISOString(),
    receivedAt: now.toISOString(),
    sourceId: ONE_CLICK_SOURCE_ID,
  };
  // The denial holds from now: recorded before the page says so, so no marketing message goes out after it.
  await recordHolds(deps.consentHolds, [event]);
  // The address the mail went to (signed into the link) is denied, whatever became of the record since: it may have
  // moved to another address (recordHolds denies the one it has now), or been erased (kept while another record, a
  // guest checkout or the account, still has the address).
  if (link.addressHash !== undefined) {
    for (const change of consentChanges(event)) await deps.consentHolds?.denyAddressOfLink?.(link.customerId, link.addressHash, change.channel, consentRecord(change), event);
  }
  const result = await publishEntries(deps.putEvents, [toBusEntry(event, deps.eventBusName)], { clock: deps.clock });
  if (result.failed.length > 0) return page(503, 'Please try again', '<p>We could not record your choice just now. Nothing was changed; please try again in a minute.</p>');
  return page(200, 'You are unsubscribed', `<p>You will no longer receive marketing ${escapeHtml(link.channel)} messages from us.</p>`);
}
