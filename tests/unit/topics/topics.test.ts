/**
 * topics.yaml and the preference link: the loader places every problem at file:line:col (as the other config
 * files' loaders), the shipped file loads, and a preference link verifies only as signed, unaltered and unexpired,
 * with every key of the rotation list.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { preferencesLinkExpiry, preferencesUrl, unsubscribeUrl, verifyPreferences } from '../../../functions/journeys/unsubscribe';
import { loadTopics, TOPICS_MAX, topicsOf, unknownTopicMessage } from '../../../shared/topics';

describe('topics.yaml', () => {
  it('loads the shipped file: newsletter, offers, product-updates with a default per consent mode', () => {
    const result = loadTopics(readFileSync('workflows/topics.yaml', 'utf8'), 'workflows/topics.yaml');
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.topics.map((t) => [t.id, t.default])).toEqual([
      ['newsletter', { 'opt-out': 'subscribed', 'opt-in': 'subscribed' }],
      ['offers', { 'opt-out': 'subscribed', 'opt-in': 'unsubscribed' }],
      ['product-updates', { 'opt-out': 'subscribed', 'opt-in': 'subscribed' }],
    ]);
  });

  it('places every problem at file:line:col: a bad id, a missing default, an unknown key, a duplicate', () => {
    const text = ['topics:', '  - id: Offers!', '    name: Offers', '    default: { opt-out: subscribed, opt-in: subscribed }', '  - id: news', '    name: News', '  - id: tips', '    name: Tips', '    default: { opt-out: subscribed, opt-in: subscribed }', '    colour: red', '  - id: tips', '    name: Tips again', '    default: { opt-out: subscribed, opt-in: subscribed }', ''].join('\n');
    const result = loadTopics(text, 'topics.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`)).toEqual([
      '2:9 topics[0].id: expected a topic id in lowercase letters, digits, "-" or "_", like "product-updates", got "Offers!"',
      expect.stringMatching(/^5:5 topics\[1\](\.default)?: /),
      '10:5 topics[2].colour: unknown key "colour"; a topic takes id, name, description and default',
      '11:9 topics[3].id: duplicate topic id "tips"; topics[2] already declares it',
    ]);
  });

  it(`holds at most ${TOPICS_MAX} topics; an empty file declares none`, () => {
    const many = ['topics:', ...Array.from({ length: TOPICS_MAX + 1 }, (_, i) => `  - { id: t-${i}, name: T${i}, default: { opt-out: subscribed, opt-in: subscribed } }`), ''].join('\n');
    const result = loadTopics(many, 'topics.yaml');
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual([`holds ${TOPICS_MAX + 1} topics; the limit is ${TOPICS_MAX}`]);
    expect(loadTopics('', 'topics.yaml')).toEqual({ ok: true, topics: [] });
  });

  it('names the declared topics when one is unknown', () => {
    const topics = topicsOf([{ id: 'offers', name: 'Offers', default: { 'opt-out': 'subscribed', 'opt-in': 'unsubscribed' } }]);
    expect(unknownTopicMessage('promos', topics)).toBe('unknown topic "promos": expected one declared in topics.yaml ("offers")');
    expect(unknownTopicMessage('promos', topicsOf([]))).toBe('unknown topic "promos": expected one declared in topics.yaml (none declared)');
  });
});

describe('the preference link', () => {
  const now = new Date('2026-03-02T10:00:00Z');
  const inAYear = preferencesLinkExpiry(now);
  const params = (url: string) => new URL(url).searchParams;

  it('expires a year on, at a UTC midnight (every rendering of a day carries the same link)', () => {
    expect(inAYear.toISOString()).toBe('2027-03-03T00:00:00.000Z');
    expect(preferencesLinkExpiry(new Date('2026-03-02T23:59:59Z'))).toEqual(inAYear);
  });

  it('verifies with any key of the rotation list, and refuses a forged, altered, expired or unsubscribe-signed one', () => {
    const link = preferencesUrl('https://rapport.example', 'k-old', 'cust-1', inAYear);
    expect(verifyPreferences(['k-new', 'k-old'], params(link), now)).toEqual({ ok: true, customerId: 'cust-1', expiresAt: inAYear });
    expect(verifyPreferences(['k-new'], params(link), now)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyPreferences('k-old', params(link.replace('c=cust-1', 'c=cust-2')), now)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyPreferences('k-old', params(link.replace(/x=\d+/, 'x=99999999999')), now)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyPreferences('k-old', params(link), new Date(inAYear.getTime()))).toEqual({ ok: false, reason: 'expired' });
    const unsubscribeToken = params(unsubscribeUrl('https://rapport.example', 'k-old', 'cust-1', 'email')).get('t')!;
    expect(verifyPreferences('k-old', params(link.replace(/t=[^&]+$/, `t=${unsubscribeToken}`)), now)).toEqual({ ok: false, reason: 'invalid' });
  });
});
