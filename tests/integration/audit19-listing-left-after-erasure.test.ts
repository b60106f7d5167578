/**
 * Audit 19 — a profile write bringing a new email address, racing the customer's erasure, leaves the address's listing
 * naming the erased id.
 *
 * Promise (issue 10, README "Privacy"; 60e4690): erasure leaves nothing naming the customer. A profile write bringing
 * an address lists the record under it (`AH#<hash>` / `H#<sha256(id)>`, an item carrying the id in clear) and its
 * pointer (`C#<id>` / `AP#<hash>`) before the profile is written; erasure finds the listing by the pointer, and a write
 * of an erased customer's profile is undone with its listing (`undoWrites` → `#unlistNumberHolder`).
 *
 * What I did: the account `u-<p>` has a@; an identify brings b@. A DynamoDB middleware holds the consumer's put of the
 * pointer `AP#<hash(b)>` until the erasure (DELETE /v1/customers) has read the customer's partition, then lets the
 * pointer and the listing be written, and holds the profile put until the erasure finished. The profile put (version
 * condition) fails: the profile is gone; the consumer's retry finds the tombstone and drops the event (the erased
 * path), which never takes back `#listNumberHolder`'s items: `undoWrites` runs only after a profile write succeeded.
 *
 * Observed: after the erasure, `C#u-<p>/AP#<hash(b)>` and `AH#<hash(b)>/H#<sha256(id)>` (with `"id":"u-<p>"`) remain.
 * Control: the identify applied before the erasure: nothing names the id. The same with a new phone number (the
 * number's listing, `AH#<sha256(E.164)>`), a variant.
 */
import { createHash } from 'node:crypto';
import type { HandlerExecutionContext, InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { beforeAll, describe, expect, it } from 'vitest';
import { addressHash, offerScenario } from '../helpers/address-scenario';
import { profileItemsNaming } from '../helpers/engine';

const { t, later } = offerScenario({ name: 'a19-listing-left' });

interface Hook {
  match: (operation: string, input: string) => boolean;
  before?: () => Promise<unknown>;
  after?: () => void;
}
let hooks: Hook[] = [];
beforeAll(() => {
  const middleware: InitializeMiddleware<object, object> = (next: InitializeHandler<object, object>, context: HandlerExecutionContext) => async (args: InitializeHandlerArguments<object>) => {
    const operation = (context.commandName ?? '').replace(/Command$/, '');
    const hook = hooks.find((h) => h.match(operation, JSON.stringify(args.input)));
    if (!hook) return next(args);
    hooks = hooks.filter((h) => h !== hook);
    await hook.before?.();
    try {
      return await next(args);
    } finally {
      hook.after?.();
    }
  };
  t.engine.dynamo.client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'a19ListingLeft' });
});

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

async function scenario(person: string, racing: boolean, trait: 'email' | 'phone' = 'email') {
  const account = `u-${person}`;
  const moved = trait === 'email' ? `${person}-b@example.com` : '+447700900352';
  await t.api.sendAndSettle({ type: 'identify', userId: account, traits: trait === 'email' ? { email: `${person}-a@example.com` } : { phone: '+447700900351' } });
  await later(60_000);
  let erasure: Promise<{ status: number }> | undefined;
  if (racing) {
    const read = deferred();
    hooks = [
      {
        // The consumer lists the account under b@ (its pointer first): the erasure starts and reads the partition first.
        match: (op, input) => op === 'PutItem' && input.includes(`AP#${trait === 'email' ? addressHash(moved) : createHash('sha256').update(moved).digest('hex')}`),
        before: async () => {
          hooks.push({ match: (op, input) => op === 'Query' && input.includes(`"C#${account}"`) && input.includes('"#pk = :pk"'), after: () => read.resolve() });
          erasure = t.api.del(`/v1/customers/${account}`);
          await read.promise;
          // The profile put (after the listing) waits for the erasure to finish.
          hooks.push({ match: (op, input) => op === 'PutItem' && input.includes(`"C#${account}"`) && input.includes('#v = :v'), before: async () => void (await erasure) });
        },
      },
    ];
    await t.api.send({ type: 'identify', userId: account, traits: { [trait]: moved } });
    await t.engine.settle();
    expect((await erasure!)?.status).toBe(200);
  } else {
    await t.api.sendAndSettle({ type: 'identify', userId: account, traits: { [trait]: moved } });
    expect((await t.api.del(`/v1/customers/${account}`)).status).toBe(200);
  }
  hooks = [];
  await t.engine.settle();
  await later(3_600_000);
  return profileItemsNaming(t.engine, [`"${account}"`, `C#${account}`]);
}

describe('a profile write bringing a new address, racing the erasure', () => {
  it('control: the identify applied before the erasure: nothing names the erased id', async () => {
    expect(await scenario('a19ll-ctl', false)).toEqual([]);
  }, 60_000);

  // BREAK (audit 19): the listing under the new address (`AH#<hash>/H#…`, `"id"` in clear) and its pointer survive the
  // erasure when the profile put fails its version check; fix idea: `put` takes back what `#listNumberHolder` wrote when
  // the profile write fails (or the consumer's erased path runs `#unlistNumberHolder` for the id).
  it.fails('the identify racing the erasure: nothing names the erased id', async () => {
    expect(await scenario('a19ll', true)).toEqual([]);
  }, 60_000);

  // BREAK (audit 19), same root, a phone number (SMS/WhatsApp holds): the number's listing names the erased id.
  it.fails('a new phone number racing the erasure: nothing names the erased id', async () => {
    expect(await scenario('a19ln', true, 'phone')).toEqual([]);
  }, 60_000);
});
