/**
 * Execution names (functions/journeys/executions.ts): at most 80 characters of [A-Za-z0-9-_], one per journey,
 * customer and trigger. Two journeys whose ids share their first 38 characters used to share names, so their steps
 * shared one message claim and one webhook-id (the 36th hostile audit, tests/integration/webhook-id-journey-prefix-collision).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { executionName, previousExecutionName } from '../../../functions/journeys/executions';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const NAME = /^[A-Za-z0-9_-]{1,80}$/;

describe('execution names', () => {
  it('keep a journey id of up to 38 characters whole, as before', () => {
    const id = 'x'.repeat(38);
    expect(executionName(id, 'c1', 'default/m1', sha)).toBe(`${id}-${sha('c1\ndefault/m1').slice(0, 40)}`);
    expect(previousExecutionName(id, 'c1', 'default/m1', sha)).toBeUndefined();
  });

  it('differ for journeys whose long ids share their first 38 characters, and stay valid names', () => {
    const eu = 'support-ticket-escalation-to-the-crm-team-eu';
    const us = 'support-ticket-escalation-to-the-crm-team-us';
    const a = executionName(eu, 'c1', 'default/m1', sha);
    const b = executionName(us, 'c1', 'default/m1', sha);
    expect(a).not.toBe(b);
    for (const name of [a, b, executionName('j'.repeat(200), 'c'.repeat(500), 'default/m1', sha)]) expect(name).toMatch(NAME);
    // The name runs started under before: the first 38 characters, found by the starter among the journey's runs.
    expect(previousExecutionName(eu, 'c1', 'default/m1', sha)).toBe(previousExecutionName(us, 'c1', 'default/m1', sha));
    expect(previousExecutionName(eu, 'c1', 'default/m1', sha)).toBe(`${eu.slice(0, 38)}-${sha('c1\ndefault/m1').slice(0, 40)}`);
  });
});
