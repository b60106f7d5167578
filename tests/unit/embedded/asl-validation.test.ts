/**
 * The embedded Step Functions stand-in validates each definition it registers (asl-validator, as
 * aws-local-stepfunctions does), and remembers the definitions it accepted (in the process and in
 * node_modules/.cache) so that an engine's start does not compile the validator's schemas again:
 * what it remembers never lets an invalid definition through, however often it is registered.
 */
import { describe, expect, it } from 'vitest';
import { LocalStepFunctions, type AslDefinition } from '../../../infra/embedded/step-functions';

const executor = () => new LocalStepFunctions({ timeScale: 1, now: () => new Date(), invokeStep: () => Promise.resolve({}) });
/** A definition no other test registers: the cache cannot have seen it before this file ran. */
const valid = (): AslDefinition => ({ StartAt: 'Only', States: { Only: { Type: 'Pass', Result: { at: `asl-validation-${process.pid}` }, End: true } as never } });
/** Its Next names a state that does not exist. */
const invalid = (): AslDefinition => ({ StartAt: 'Only', States: { Only: { Type: 'Pass', Next: 'Nowhere' } as never } });

describe('ASL validation of registered definitions', () => {
  it('refuses an invalid definition every time it is registered', () => {
    for (let i = 0; i < 3; i++) expect(() => executor().register('broken', invalid())).toThrow(/definition is invalid/);
  });

  it('accepts a valid definition again, once remembered, and runs it', async () => {
    executor().register('fine', valid());
    const second = executor();
    second.register('fine', valid());
    await second.start('fine', 'run-1', { journeyId: 'fine', journeyVersion: 1, customerId: 'c-1', trigger: { messageId: 'm-1', event: 'E', properties: {} } } as never);
    await second.idle();
    await expect.poll(() => second.executions.get('run-1')?.status).toBe('SUCCEEDED');
  });
});
