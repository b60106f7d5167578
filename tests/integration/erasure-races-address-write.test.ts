/**
 * An erasure running between a new record's listing under an address and its profile write keeps the address's
 * denial for it. The account has X and unsubscribed (X denied). A guest's identify bringing X is applied: `put` lists
 * the guest under X, then (a DynamoDB middleware) its profile write waits while the account is erased to completion.
 * The erasure finds the guest's listing with no profile yet and counts it as X's holder (a record listed and not
 * erased is about to have X), so X's denial stays and the guest's offer to X is skipped `unsubscribed`.
 * Control: the guest's write applied before the erasure. (Not covered: an existing guest record, listed under X and
 * not yet written with it, is judged by its profile, which lacks X: that window stays.)
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

  it('the erasure runs between the listing and the profile write: the address stays denied', async () => {
    expect(await scenario('a19er', true)).toEqual({ addressDenied: 1, guestOffer: 'unsubscribed' });
  }, 60_000);
});
