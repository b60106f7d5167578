/**
 * An open hold write naming an erased customer, closed by the engine's check at start (or the sweep): its delete is
 * never compacted away, and the data folder's files name the customer for good.
 *
 * Promise (issue 10: erasure is complete; README "Privacy: erasure", "What survives a restart"): no file of the data
 * folder names an erased customer once the engine has stopped; since 758badf an open hold write (`XW#<sha256(id)>`)
 * carries the id while it is open, "so an open record names an erased id until the next sweep at the latest", and "the
 * embedded engine also checks them at start".
 *
 * Scenario: the account `u-<p>` has X. Its one-click link is clicked; the page's hold write of X's denial opens its
 * record (with the id), lands, and its check (the tombstone read) fails: the page answers 503, the record stays open.
 * The account is erased (DELETE answers 200; the files are compacted then, the open record, still live, in them), and
 * the engine stops cleanly (its files rewritten: an erasure since start). The engine starts again on the folder: it
 * checks the writes left open and closes (deletes) the record, but nothing compacts or rewrites the files after that
 * delete (only an erasure does: `erasedSinceStart`, the rewrite marker), so once the engine has stopped cleanly, the
 * files still hold the record with the erased id, although no table item names it.
 * Control: the check does not fail (no open record is left): after the same restart no file names the account.
 * Found by the thirty-fourth hostile audit. Now: closing an open record (at start, by the sweep) owes a rewrite of dynalite's
 * files at the next clean stop, as an erasure does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HandlerExecutionContext, InitializeHandler, InitializeHandlerArguments, InitializeMiddleware } from '@smithy/types';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_UNSUBSCRIBE_KEY } from '../../functions/journeys';
import { unsubscribeUrl } from '../../functions/journeys/unsubscribe';
import { emailAddressHash } from '../../shared';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { addressHash } from '../helpers/address-scenario';
import { client } from '../helpers/client';
import { allItems, filesNaming } from '../helpers/data-folder';
import { startTestEngine } from '../helpers/engine';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** After a call `after` takes, the first call `match` takes on the engine's DynamoDB client fails (before the SDK sends it: no SDK retry). */
function failOnceAfter(engine: Engine, after: (operation: string, input: string) => boolean, match: (operation: string, input: string) => boolean) {
  const state = { failed: false, armed: false };
  const middleware: InitializeMiddleware<object, object> = (next: InitializeHandler<object, object>, context: HandlerExecutionContext) => async (args: InitializeHandlerArguments<object>) => {
    const operation = (context.commandName ?? '').replace(/Command$/, '');
    const input = JSON.stringify(args.input);
    if (!state.armed && after(operation, input)) state.armed = true;
    else if (state.armed && !state.failed && match(operation, input)) {
      state.failed = true;
      throw new Error('throttled');
    }
    return next(args);
  };
  engine.dynamo.client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'a34FailOnce' });
  return state;
}

async function scenario(person: string, failCheck: boolean) {
  const dataDir = mkdtempSync(join(tmpdir(), `rapport-a34-files-${person}-`));
  dirs.push(dataDir);
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  const id = `u-${person}`;
  const x = `${person}@example.com`;
  const first = await startTestEngine({ dataDir, clock, sweepEveryMs: 0, logLevel: 'SILENT' });
  let clicked: number;
  try {
    const api = client(first);
    await api.sendAndSettle({ type: 'identify', userId: id, traits: { email: x } });
    await clock.run(clock.now().getTime() + 60_000);
    // The one-click page's check after its write of X's denial (the tombstone read) fails once.
    const fault = failOnceAfter(
      first,
      (op, input) => op === 'PutItem' && input.includes(`"AH#${addressHash(x)}"`) && input.includes('"K#email"') && input.includes('"denied"'),
      (op, input) => failCheck && op === 'GetItem' && input.includes('"SK":"X"'),
    );
    const link = unsubscribeUrl(first.url, DEV_UNSUBSCRIBE_KEY, id, 'email', emailAddressHash(x));
    clicked = (await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status;
    expect(fault.failed).toBe(failCheck);
    await first.settle();
    await clock.run(clock.now().getTime() + 60_000);
    expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    await clock.run(clock.now().getTime() + 60_000);
  } finally {
    await first.stop();
  }
  // Started again on the folder (a restart, a day later): the writes left open are checked and closed at start.
  clock.advance(clock.now().getTime() + 86_400_000);
  const second = await startTestEngine({ dataDir, clock, sweepEveryMs: 0, logLevel: 'SILENT' });
  await second.settle();
  await second.stop();
  const items = (await allItems(dataDir)).filter(({ item }) => item.includes(id)).length;
  return { clicked, items, files: filesNaming(dataDir, [id]).map((f) => f.slice(dataDir.length)) };
}

describe("a one-click unsubscribe's open hold write naming a customer erased since, closed at the engine's start", () => {
  it('control: the check does not fail: after the restart no file of the data folder names the customer', async () => {
    expect(await scenario('a34files-c', false)).toEqual({ clicked: 200, items: 0, files: [] });
  }, 120_000);

  it('the check fails once: the record is closed at start, and after a clean stop no file names the customer', async () => {
    expect(await scenario('a34files-x', true)).toEqual({ clicked: 503, items: 0, files: [] });
  }, 120_000);
});
