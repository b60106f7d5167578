import { consentChanges, detailTypeOf, suppressionsOf, topicConsentChanges, type EventProblem, type NormalisedEvent } from '../../shared';

/**
 * What one source may send (ARCHITECTURE decision 9). Absent lists allow everything
 * (backward compatible). `events` names event names (a track's `event`, or `Identify`,
 * `Page`, `Screen`, `Group`, `Alias`); `traits` names top-level identify traits, with
 * consent per channel as `consent.email` / `consent.sms` / `consent.push` (or `consent`
 * for all), which also covers `Subscribed` / `Unsubscribed` events for that channel (a topic's on that
 * channel too: `{ channel, topic }`) and the suppressions of it (`Message Bounced` hard, `Message Complained`, `Email Marked as Spam`).
 */
export interface SourcePermissions {
  events?: readonly string[];
  traits?: readonly string[];
}

const listed = (names: readonly string[]) => (names.length === 0 ? 'none' : names.join(', '));

/**
 * Every thing this source may not set with this event, as problems naming the source, the event and the field
 * (empty: allowed). `anyChannel`: an `Unsubscribed` its sender sent with no channel (normaliseEvent made it
 * `all`): a source that may set any consent may send it. The sender named no channel it may not touch, and
 * refusing it would lose the customer's wish (Segment's SDK drops a 400); denying more channels harms nobody.
 */
export function permissionProblems(sourceId: string, permissions: SourcePermissions | undefined, event: NormalisedEvent, index: number, anyChannel = false): EventProblem[] {
  if (permissions === undefined) return [];
  const name = detailTypeOf(event);
  const { events, traits } = permissions;
  if (events !== undefined && !events.includes(name)) {
    return [{ index, path: event.type === 'track' ? '$.event' : '$.type', message: `source "${sourceId}" may not send "${name}" events (it may send: ${listed(events)})` }];
  }
  if (traits === undefined) return [];
  const may = (trait: string) => traits.includes(trait) || (trait.startsWith('consent.') && traits.includes('consent'));
  const problems: EventProblem[] = [];
  if (event.type === 'identify') {
    for (const key of Object.keys(event.traits)) {
      if (key === 'consent') continue;
      if (!may(key)) problems.push({ index, path: `$.traits.${key}`, message: `source "${sourceId}" may not set trait "${key}" in "${name}" events (it may set: ${listed(traits)})` });
    }
  }
  // A suppression (hard bounce, complaint, spam report) stops a channel for good, transactional mail too: a
  // source may send one only for a channel whose consent it may set.
  for (const { channel } of suppressionsOf(event)) {
    const trait = `consent.${channel}`;
    if (!may(trait)) problems.push({ index, path: event.type === 'track' && event.properties.channel !== undefined ? '$.properties.channel' : '$.event', message: `source "${sourceId}" may not suppress ${channel} with "${name}" events: that needs "${trait}" (it may set: ${listed(traits)})` });
  }
  // A topic's change on a channel is consent on that channel: the same permission (a source that may not grant
  // email may not grant a topic on email either).
  const changes = [...consentChanges(event), ...topicConsentChanges(event)];
  if (anyChannel && changes.some((change) => may(`consent.${change.channel}`))) return problems;
  for (const change of changes) {
    const trait = `consent.${change.channel}`;
    if (!may(trait)) {
      const path = event.type === 'identify' ? `$.traits.consent.${change.channel}` : '$.properties.channel';
      problems.push({ index, path, message: `source "${sourceId}" may not set "${trait}" in "${name}" events (it may set: ${listed(traits)})` });
    }
  }
  return problems;
}
