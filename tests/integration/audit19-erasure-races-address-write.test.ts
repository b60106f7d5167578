/**
 * Audit 19 — the account's erasure running between the guest's listing under the address and its profile write loses
 * the address's denial: the guest, the same person, is mailed.
 *
 * Promise (60e4690): "A profile write bringing an email address now lists the record under it (before the profile,
 * as for numbers); erasure and a late hold's keep read the listing strongly consistently and confirm each listed
 * profile still has the address" — so "a guest that got the address a moment before the account's erasure" keeps
 * the address's denial (README "Consent": an address's denial goes with the last record that has it).
 *
 * What I did: the account has X and unsubscribed (X denied). The guest's identify bringing X is applied: `put` lists the
 * guest under X, then (a DynamoDB middleware) its profile write waits while the account is erased to completion, then
 * goes. The erasure finds the guest's listing, reads the guest's profile to confirm it — none yet (or, for an existing
 * guest record, one without X) — skips it; the email index has nothing; X's denial is deleted. Nothing on the writer's
 * side checks after its write (write, then check) whether the address it brings lost its holds meanwhile.
 *
 * Observed: the guest's offer to X is `sent` after the account (same person) unsubscribed X.
 * Control: the same, the guest's write applied before the erasure: `unsubscribed`.
 */
import type { HandlerExecutionContext, InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { beforeAll, describe, expect, it } from 'vitest';
import { offerScenario } from '../helpers/address-scenario';

const { t, later, offer, latestOffer, addressItems } = offerScenario({ name: 'a19-erasure-races-write' });

interface Hook {
  match: (operation: string, input: string) => boolean;
  before?: () => Promise<unknown>;
}
let hooks: Hook[] = [];
beforeAll(() => {
  const middleware: InitializeMiddleware<object, object> = (next: InitializeHandler<object, object>, context: HandlerExecutionContext) => async (args: InitializeHandlerArguments<object>) => {
    const operation = (context.commandName ?? '').replace(/Command$/, '');
    const hook = hooks.find((h) => h.match(operation, JSON.stringify(args.input)));
    if (!hook) return next(args);
    hooks = hooks.filter((h) => h !== hook);
    await hook.before?.();
    return next(args);
  };
  t.engine.dynamo.client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'a19ErasureRacesWrite' });
});

async function scenario(person: string, racing: boolean) {
  const address = `${person}@example.com`;
  const account = `u-${person}`;
  const guest = `guest-${person}`;
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { email: address } });
  await later(60_000);
  await t.api.sendAndSettle({ type: 'track', userId: account, event: 'Unsubscribed', messageId: `${person}-stop`, properties: { channel: 'email' } });
  await later(86_400_000);
  if (racing) {
    let erased: number | undefined;
    hooks = [
      {
        // The guest's profile write (its listing under X is written): the account is erased first.
        match: (op, input) => op === 'PutItem' && input.includes(`"C#${guest}"`) && input.includes('attribute_not_exists(#pk)'),
        before: async () => void (erased = (await t.api.del(`/v1/customers/${account}`)).status),
      },
    ];
    await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: address } });
    expect(erased).toBe(200);
  } else {
    await t.api.sendAndSettle({ type: 'identify', userId: guest, traits: { email: address } });
    expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  }
  hooks = [];
  await t.engine.settle();
  await later(60_000);
  await offer(guest, 1);
  return { addressDenied: (await addressItems(address, '"denied"')).length, guestOffer: await latestOffer(guest) };
}

describe("the account's erasure between the guest's listing under the address and its profile write", () => {
  it('control: the guest got the address before the erasure: the address stays denied', async () => {
    expect(await scenario('a19er-ctl', false)).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
  }, 60_000);

  // BREAK (audit 19): the erasure skips a listed record whose profile is not written yet and deletes the address's
  // denial; the guest's write lands after it and is mailed against the person's unsubscribe; fix idea: the writer's
  // half (write, then check): after a profile write that brought an address, re-read the address's holds against the
  // erasures since its listing (or erasure keeps the holds for a listed record whose profile is missing or older than the
  // listing, pointing to it, for its next write or its erasure to judge).
  it.fails('the erasure runs between the listing and the profile write: the address stays denied', async () => {
    expect(await scenario('a19er', true)).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
