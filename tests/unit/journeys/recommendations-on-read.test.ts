/**
 * A message's `recommendations` are computed only when its template reads them (issue 15, cross-sell): every send
 * to a customer who bought something used to read the co-purchase counts (a DynamoDB BatchGetItem) whether or not
 * the message showed any. Rendered as the gateway renders (renderMessage over liquidTemplates), with a counting
 * `recommendations` port: none for a template that does not read them, one for a template that reads them twice, in
 * every message template format (email subject/text/HTML, SMS, push parts).
 */
import { describe, expect, it } from 'vitest';
import { renderMessage } from '../../../functions/journeys/render';
import { liquidTemplates } from '../../../functions/journeys/templates';
import { emptyProfile } from '../../../functions/profile/apply';
import type { Recommendations } from '../../../shared';

const templates = liquidTemplates({
  'plain.email': 'Subject: Hello {{ profile.traits.firstName }}\n\nNothing to recommend here.',
  'twice.email': 'Subject: You may like {{ recommendations.categories | first }}\n\n{% for c in recommendations.categories %}{{ c }} {% endfor %}\n--- html ---\n<p>{{ recommendations.products | join: ", " }}</p>',
  'plain.sms': 'Hi {{ profile.traits.firstName }}',
  'reads.sms': 'Try {{ recommendations.categories | join: "/" }}',
  'reads.push': 'Title: For you\n\n{{ recommendations.products | first }}',
});
const profile = { ...emptyProfile('ada', '2026-03-02T10:00:00.000Z'), traits: { firstName: 'Ada', email: 'ada@example.com' } };

function render(template: string, channel: 'email' | 'sms' | 'push') {
  let reads = 0;
  const deps = {
    templates,
    unsubscribe: { baseUrl: 'https://rapport.example.com', keys: { load: async () => ['a-test-key-of-enough-length-0123456789'] } },
    recommendations: async (): Promise<Recommendations> => {
      reads++;
      return { categories: ['coffee-table', 'rug'], products: ['oak-table'] };
    },
  };
  const request = { customerId: 'ada', journeyId: 'j', stepId: 's', executionName: 'e', channel, template, kind: 'marketing' as const, data: {} };
  return { reads: () => reads, rendered: renderMessage(deps, request, profile, channel === 'push' ? 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/app/1' : 'ada@example.com') };
}

describe('recommendations are read only when a template reads them', () => {
  it.each([
    ['plain', 'email'],
    ['plain', 'sms'],
  ] as const)('%s.%s: no read, nothing reported', async (template, channel) => {
    const { reads, rendered } = render(template, channel);
    const message = await rendered;
    expect(reads()).toBe(0);
    expect(message.recommended).toBeUndefined();
  });

  it.each([
    ['twice', 'email', 'You may like coffee-table'],
    ['reads', 'sms', 'Try coffee-table/rug'],
    ['reads', 'push', 'oak-table'],
  ] as const)('%s.%s: one read however often the template reads them, and what it rendered is reported', async (template, channel, shown) => {
    const { reads, rendered } = render(template, channel);
    const message = await rendered;
    expect(reads()).toBe(1);
    expect(JSON.stringify(message.message)).toContain(JSON.stringify(shown).slice(1, -1));
    expect(message.recommended).toEqual({ categories: ['coffee-table', 'rug'], products: ['oak-table'] });
  });
});
