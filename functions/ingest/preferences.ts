import { randomUUID } from 'node:crypto';
import {
  CHANNEL_ADDRESS_TRAIT,
  CHANNELS,
  compareConsent,
  EVENTS,
  ONE_CLICK_SOURCE_ID,
  publishEntries,
  subscribedByDefault,
  toBusEntry,
  type Channel,
  type Clock,
  type ConsentMode,
  type ConsentRecord,
  type NormalisedEvent,
  type Profile,
  type PutEvents,
  type Topic,
  type Topics,
} from '../../shared';
import { preferencesFormStamp, verifyPreferences, verifyPreferencesFormStamp } from '../journeys/unsubscribe';
import { recordHolds, type ConsentHolds } from './consent';
import type { IngestRequest, IngestResponse } from './service';

/**
 * The largest form the page takes. The largest page topics.yaml allows (32 topics × 3 channels, ids of 64
 * characters) posts up to three fields a pair (`shown`, `was`, `on`), each `name=<channel>%3A<topic>&`: about
 * 96 × 3 × 80 bytes, some 23 KB. Four times headroom still refuses a body no page could have built.
 */
export const PREFERENCES_FORM_MAX_BYTES = 65_536;
/**
 * The form's fields: every pair the page showed (`shown`), those it showed ticked (`was`), and those ticked when
 * saved (`on`); a pair reads `<channel>:<topic>`. `page=1` says the form is the page's own, so its `was` is complete
 * (none ticked: no `was` at all). `at` and `sig` are the page's stamp: when it was shown, signed.
 */
const FORM_FIELDS = new Set(['shown', 'was', 'on']);
const STAMP_FIELDS = new Set(['at', 'sig']);

/** Port: the customer the link names, as the profile holds them now (following a join by alias). */
export interface PreferenceProfiles {
  resolve(id: string): Promise<{ stored?: { profile: Profile } }>;
  /**
   * The topics among `topics` that the customer's address on `channel` has left (another record with the address left
   * them: ProfileStore.addressTopicDenials). Without it the page shows the record's own choices only.
   */
  addressTopicDenials?(channel: Channel, address: string, topics: readonly string[]): Promise<Record<string, ConsentRecord>>;
}

export interface PreferencesDeps {
  keys: readonly string[];
  putEvents: PutEvents;
  clock: Clock;
  eventBusName?: string;
  topics: Topics;
  consentMode: ConsentMode;
  profiles: PreferenceProfiles;
  /** Where the denials are recorded before the page answers (the profile table); without it they wait for the profile consumer. */
  consentHolds?: ConsentHolds;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (status: number, title: string, body: string): IngestResponse => ({
  statusCode: status,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-robots-tag': 'noindex',
    // The link's token is in the URL: never sent on as a referrer. No script runs on the page, and its form posts here only.
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  },
  body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head><body style="font-family:system-ui;max-width:36rem;margin:4rem auto;padding:0 1rem"><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
});

const refused = (status: number, message: string) => page(status, 'Your preferences were not changed', `<p>${escapeHtml(message)}</p>`);

/** One checkbox of the page: a topic on a channel. */
interface Pair {
  channel: Channel;
  topic: Topic;
}
const pairKey = (p: { channel: string; topic: { id: string } }) => `${p.channel}:${p.topic.id}`;

/** The channels the page offers: those the customer has an address on (email when none: the page still says where they stand). */
function channelsOf(profile: Profile): Channel[] {
  const reachable = CHANNELS.filter((channel) => {
    const address = profile.traits[CHANNEL_ADDRESS_TRAIT[channel]];
    return typeof address === 'string' && address !== '';
  });
  return reachable.length > 0 ? reachable : ['email'];
}

/** A topic left by the customer's address (another record with it left it), by `pairKey`. */
type AddressDenials = ReadonlyMap<string, ConsentRecord>;

/**
 * Whether the customer is subscribed to the pair now, as a send to them is decided: their latest choice in consent
 * order, unless their address left the topic later (another record with it: the send skips it), else the topic's default.
 */
function subscribed(profile: Profile, pair: Pair, mode: ConsentMode, address: AddressDenials = new Map()): boolean {
  const own = profile.topicConsent?.[pair.channel]?.[pair.topic.id];
  const left = address.get(pairKey(pair));
  if (left !== undefined && (own === undefined || compareConsent(left, own) > 0)) return false;
  const status = own?.status;
  return status === undefined || status === 'unknown' ? subscribedByDefault(pair.topic.default, mode) : status === 'granted';
}

/** The topics the customer's addresses have left, per channel the page shows (none without the port). */
async function addressDenialsOf(profile: Profile, deps: PreferencesDeps): Promise<AddressDenials> {
  const read = deps.profiles.addressTopicDenials?.bind(deps.profiles);
  const out = new Map<string, ConsentRecord>();
  if (read === undefined) return out;
  for (const channel of channelsOf(profile)) {
    const address = profile.traits[CHANNEL_ADDRESS_TRAIT[channel]];
    if (typeof address !== 'string' || address === '') continue;
    const denials = await read(channel, address, deps.topics.list.map((topic) => topic.id));
    for (const [topic, record] of Object.entries(denials)) out.set(pairKey({ channel, topic: { id: topic } }), record);
  }
  return out;
}

function form(action: string, customerId: string, shownAt: Date, profile: Profile, deps: PreferencesDeps, state: (pair: Pair) => boolean): string {
  const channels = channelsOf(profile);
  const rows = deps.topics.list
    .map((topic) => {
      const boxes = channels
        .map((channel) => {
          const key = escapeHtml(pairKey({ channel, topic }));
          const ticked = state({ channel, topic });
          const was = ticked ? `<input type="hidden" name="was" value="${key}">` : '';
          return `<label style="margin-right:1rem"><input type="hidden" name="shown" value="${key}">${was}<input type="checkbox" name="on" value="${key}"${ticked ? ' checked' : ''}> ${escapeHtml(channel)}</label>`;
        })
        .join('');
      return `<fieldset style="margin:0 0 1rem;border:1px solid #ccc"><legend><strong>${escapeHtml(topic.name)}</strong></legend>${topic.description !== undefined ? `<p>${escapeHtml(topic.description)}</p>` : ''}${boxes}</fieldset>`;
    })
    .join('');
  const channelNotes = channels
    .filter((channel) => profile.consent[channel]?.status === 'denied')
    .map((channel) => `<p>You are unsubscribed from all marketing ${escapeHtml(channel)} messages: none of these topics reach you there until you subscribe again.</p>`)
    .join('');
  const stamp = preferencesFormStamp(deps.keys, customerId, shownAt);
  return `${channelNotes}<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="page" value="1"><input type="hidden" name="at" value="${stamp.at}"><input type="hidden" name="sig" value="${escapeHtml(stamp.sig)}">${rows || '<p>There are no topics to choose from.</p>'}<button type="submit">Save my preferences</button></form>`;
}

/** The form's pairs, checked: each a declared topic on a channel; the first problem names its field. */
function parseForm(body: string, topics: Topics): { ok: true; shown: Pair[]; on: Set<string>; was?: Set<string>; stamp: Partial<Record<'at' | 'sig', string>> } | { ok: false; message: string } {
  const params = new URLSearchParams(body);
  const shown = new Map<string, Pair>();
  const on = new Set<string>();
  let was: Set<string> | undefined;
  const stamp: Partial<Record<'at' | 'sig', string>> = {};
  const counts = new Map<string, number>();
  for (const [name, value] of params) {
    const index = counts.get(name) ?? 0;
    counts.set(name, index + 1);
    if (name === 'page' && value === '1' && index === 0) {
      was ??= new Set();
      continue;
    }
    if (STAMP_FIELDS.has(name)) {
      if (index > 0) return { ok: false, message: `${name}: given more than once; the form sends one` };
      stamp[name as 'at' | 'sig'] = value;
      continue;
    }
    if (!FORM_FIELDS.has(name)) return { ok: false, message: `${name}: unexpected field; the form sends "page", "at", "sig", "shown", "was" and "on"` };
    const field = `${name}[${index}]`;
    const at = value.indexOf(':');
    const channel = at < 0 ? value : value.slice(0, at);
    const topicId = at < 0 ? '' : value.slice(at + 1);
    if (!(CHANNELS as readonly string[]).includes(channel)) return { ok: false, message: `${field}: unknown channel ${JSON.stringify(channel)}; expected one of ${CHANNELS.join(', ')}` };
    const topic = topics.get(topicId);
    if (topic === undefined) return { ok: false, message: `${field}: unknown topic ${JSON.stringify(topicId)}` };
    const key = pairKey({ channel, topic });
    if (name === 'shown') shown.set(key, { channel: channel as Channel, topic });
    else if (name === 'was') (was ??= new Set()).add(key);
    else on.add(key);
  }
  for (const [field, keys] of [['on', on], ['was', was ?? new Set<string>()]] as const) {
    for (const key of keys) if (!shown.has(key)) return { ok: false, message: `${field}: ${JSON.stringify(key)} was not on the page` };
  }
  return { ok: true, shown: [...shown.values()], on, ...(was !== undefined && { was }), stamp };
}

/**
 * The preference page, served by Rapport itself beside the one-click unsubscribe: every message links to it
 * (`preferences_url`, signed with the unsubscribe keys, expiring after PREFERENCES_LINK_DAYS). GET lists the
 * declared topics with the customer's state per channel; POST (a plain HTML form: no JavaScript) puts a
 * `Subscribed` or `Unsubscribed {channel, topic}` event on the bus for each pair that changed, which the profile
 * folds as it folds channel consent. A form naming a channel or topic that does not exist changes nothing (400).
 * A link of a customer with no live profile (erased, never seen) shows nothing and changes nothing.
 */
export async function handlePreferences(request: IngestRequest, deps: PreferencesDeps): Promise<IngestResponse> {
  const url = new URL(request.path, 'http://localhost');
  const now = deps.clock.now();
  const link = verifyPreferences(deps.keys, url.searchParams, now);
  if (!link.ok) {
    return link.reason === 'expired'
      ? page(410, 'This link has expired', '<p>Use the preferences link in the latest message you received.</p>')
      : page(400, 'This preferences link is not valid', '<p>It may have been altered or cut short. Use the link in the latest message you received.</p>');
  }
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST') return page(405, 'Method not allowed', '');
  const profile = (await deps.profiles.resolve(link.customerId)).stored?.profile;
  if (profile === undefined) return page(404, 'No preferences to show', '<p>We hold no marketing preferences for you.</p>');
  const action = url.pathname + url.search;
  const addressDenials = await addressDenialsOf(profile, deps);
  if (method === 'GET') return page(200, 'Your email preferences', form(action, link.customerId, now, profile, deps, (pair) => subscribed(profile, pair, deps.consentMode, addressDenials)));

  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/x-www-form-urlencoded') return refused(415, 'Expected the page\'s form (application/x-www-form-urlencoded).');
  if (request.body.length > PREFERENCES_FORM_MAX_BYTES) return refused(413, `The form is larger than ${PREFERENCES_FORM_MAX_BYTES} bytes.`);
  const parsed = parseForm(request.body.toString('utf8'), deps.topics);
  if (!parsed.ok) return refused(400, parsed.message);
  // When the page was shown. A subscription is the customer's choice as of that moment, so it is dated then: a
  // change made since (another save, a CRM's Unsubscribed, a one-click link) wins over it, and a form posted again
  // later (a restored tab, a proxy's retry, a replay) cannot beat a denial received after the page was shown.
  // Leaving a topic needs no stamp: a denial is dated by its receipt, as every other.
  let shownAt: Date | undefined;
  if (parsed.stamp.at !== undefined || parsed.stamp.sig !== undefined) {
    shownAt = verifyPreferencesFormStamp(deps.keys, link.customerId, parsed.stamp.at ?? '', parsed.stamp.sig ?? '');
    if (shownAt === undefined) return refused(400, 'at, sig: the page\'s stamp is not valid (altered, or from another page); reload the page and save again.');
    if (shownAt.getTime() > now.getTime()) shownAt = now;
  }

  // Only what changed becomes an event: a re-saved page publishes nothing. Changed from what the page showed (its
  // `was`: a save moments after another, before the profile has applied it, still says what the customer did) or
  // from the profile now (a form without `was` is compared with the profile alone).
  const changed = parsed.shown.filter((pair) => {
    const wanted = parsed.on.has(pairKey(pair));
    const showed = parsed.was === undefined ? undefined : parsed.was.has(pairKey(pair));
    return (showed !== undefined && wanted !== showed) || wanted !== subscribed(profile, pair, deps.consentMode, addressDenials);
  });
  const grants = changed.filter((pair) => parsed.on.has(pairKey(pair)));
  if (grants.length > 0 && shownAt === undefined) {
    return refused(400, `on: subscribing needs the page's own form (its "at" and "sig" fields) to say when the page was shown; reload the page and save again.`);
  }
  // A subscription whose topic changed after the page was shown is out of date: it would lose to that change in
  // consent order anyway, so it is not published, and the page says so and shows where the customer stands now.
  const stale = grants.filter((pair) => {
    const record = profile.topicConsent?.[pair.channel]?.[pair.topic.id];
    return record !== undefined && record.status !== 'unknown' && (record.key ?? record.at) > shownAt!.toISOString();
  });
  const events = changed
    .filter((pair) => !stale.includes(pair))
    .map((pair): NormalisedEvent => {
      const grant = parsed.on.has(pairKey(pair));
      return {
        specVersion: 1,
        type: 'track',
        // One per change, as a one-click unsubscribe's: every choice is its own consent change.
        messageId: `pref-${randomUUID()}`,
        userId: link.customerId,
        event: grant ? EVENTS.SUBSCRIBED : EVENTS.UNSUBSCRIBED,
        properties: { channel: pair.channel, topic: pair.topic.id, method: 'preferences' },
        traits: {},
        context: {},
        timestamp: (grant ? shownAt! : now).toISOString(),
        receivedAt: now.toISOString(),
        // Rapport's own link, as the one-click unsubscribe: it applies to a live profile only, never re-creating an erased customer.
        sourceId: ONE_CLICK_SOURCE_ID,
      };
    });
  if (events.length > 0) {
    // A topic left holds from now: recorded before the page says so, as the one-click unsubscribe's denial.
    await recordHolds(deps.consentHolds, events);
    const result = await publishEntries(deps.putEvents, events.map((event) => toBusEntry(event, deps.eventBusName)), { clock: deps.clock });
    if (result.failed.length > 0) return page(503, 'Please try again', '<p>We could not record your choice just now. Please try again in a minute.</p>');
  }
  const staleNote = stale.length === 0 ? '' : `<p>${escapeHtml(`Not saved: ${stale.map((p) => `${p.topic.name} (${p.channel})`).join(', ')}. Your preferences changed after this page was shown; here is where you stand now.`)}</p>`;
  const saved = events.length === 0 ? (stale.length === 0 ? '<p>Nothing changed.</p>' : '') : '<p>Your preferences are saved.</p>';
  // The answer is a page of its own, shown just after the changes it reports (a millisecond on: a subscription
  // saved from it is later than a topic left by this very save).
  const answeredAt = new Date(now.getTime() + 1);
  const shownNow = (pair: Pair) => parsed.shown.some((p) => pairKey(p) === pairKey(pair)) && !stale.some((p) => pairKey(p) === pairKey(pair));
  return page(200, 'Your email preferences', saved + staleNote + form(action, link.customerId, answeredAt, profile, deps, (pair) => (shownNow(pair) ? parsed.on.has(pairKey(pair)) : subscribed(profile, pair, deps.consentMode, addressDenials))));
}
