/**
 * The send claim holds for WhatsApp and push as for email (issue 15): a throttled provider (ChannelUnavailableError)
 * releases the claim and the step is retried until it sends, once; a provider that accepted the message before the
 * step died is never sent to again (the claim stays, the outcome is unknown). Embedded engine, faults on the
 * outbox's senders, virtual time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChannelUnavailableError } from '../../../functions/journeys/channels/types';
import type { ChannelCall, ChannelFault } from '../../../infra/embedded/faults';
import { VirtualClock } from '../../../infra/embedded/virtual-time';
import { useTestEngine } from '../../helpers/engine';
import { messagesOf, outboxFor, runToEnd } from '../../helpers/journeys';

const ENDPOINT = 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const dir = mkdtempSync(path.join(tmpdir(), 'rapport-new-channels-claim-'));
for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
for (const channel of ['whatsapp', 'push']) {
  writeFileSync(path.join(dir, 'journeys', `${channel}.yaml`), [`id: ${channel}`, `name: ${channel}`, 'version: 1', `trigger: { event: ${channel} due }`, 'entry: { reentry: always }', 'steps:', '  - id: notify', `    send: { channel: ${channel}, template: note }`, ''].join('\n'));
}
writeFileSync(path.join(dir, 'templates', 'note.whatsapp.liquid'), 'Template: note\nLanguage: en\n');
writeFileSync(path.join(dir, 'templates', 'note.push.liquid'), 'Title: Note\n\nA note.\n');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plans = new Map<string, (n: number) => ChannelFault | undefined>();
const attempts = new Map<string, number>();
const customerOf = (call: ChannelCall) => ('tags' in call.message ? (call.message.tags as Record<string, string>).customer : undefined) ?? '?';

describe('the send claim on WhatsApp and push', () => {
  const clock = new VirtualClock('2026-03-02T10:00:00Z');
  const world = useTestEngine({
    clock,
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
    faults: {
      channels: (call) => {
        const customer = customerOf(call);
        const n = (attempts.get(customer) ?? 0) + 1;
        attempts.set(customer, n);
        return plans.get(customer)?.(n);
      },
    },
  });
  const run = async (channel: 'whatsapp' | 'push', id: string) => {
    await world.api.sendAndSettle([{ type: 'identify', userId: id, traits: { phone: '+447700900123', pushToken: ENDPOINT } }, { type: 'track', userId: id, event: `${channel} due`, messageId: `${id}-due` }]);
    await runToEnd(clock, world.engine, id, channel);
    return { sent: outboxFor(world.engine, id).map((m) => m.channel), records: (await messagesOf(world.engine, id)).map((m) => `${m.channel} ${m.status}`), attempts: attempts.get(id) };
  };

  for (const channel of ['whatsapp', 'push'] as const) {
    it(`${channel}: a throttled provider is retried and the message goes once`, async () => {
      plans.set(`${channel}-throttled`, (n) => (n <= 2 ? { error: new ChannelUnavailableError(`${channel} is unavailable: ThrottlingException (injected)`) } : undefined));
      expect(await run(channel, `${channel}-throttled`)).toEqual({ sent: [channel], records: [`${channel} sent`], attempts: 3 });
    });

    it(`${channel}: a message the provider accepted before the step died is not sent again`, async () => {
      const died = Object.assign(new Error('the step Lambda died after the send (injected)'), { name: 'Lambda.ServiceException' });
      plans.set(`${channel}-accepted`, (n) => (n === 1 ? { error: died, afterAccept: true } : undefined));
      const result = await run(channel, `${channel}-accepted`);
      expect(result.sent).toEqual([channel]);
      expect(result.attempts).toBe(1);
      expect(result.records).not.toContain(`${channel} sent`);
    });
  }
});
