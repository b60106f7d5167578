/**
 * Audit 36, issue 10 item 7 / "What to build": a webhook step is claimed before the POST and carries an
 * idempotency key (the `webhook-id`), so a retry never makes the receiver act twice. For that key (and the
 * claim) to mean "this message", it must be unique per message: Standard Webhooks receivers drop a second
 * delivery with a webhook-id they have seen.
 *
 * How it breaks: the claim's key (`M#<executionName>#<stepId>`) and the webhook-id (`<executionName>:<stepId>`)
 * are built from the execution name, and `executionName` (functions/journeys/executions.ts) keeps only the first
 * 38 characters of the journey id: `${journeyId.slice(0, 38)}-${hash(customer, trigger)}`. Two journeys whose ids
 * share their first 38 characters (journey ids have no length limit; e.g. `...-eu` and `...-us` variants), both
 * triggered by one event and both with a webhook step of the same id, make ONE execution name, ONE message
 * record and ONE webhook-id. In AWS (one state machine each) the second journey's step finds the first's claim
 * and posts nothing (or, racing it, posts with the same webhook-id, which the receiver drops); in the embedded
 * engine its StartExecution even answers "exists" (executions are keyed by name alone) and its run stays
 * `running` forever. Either way one receiver never hears of the event. The same key collision skips an email
 * `send` step of the same id. Measured (embedded): 2 runs recorded (eu completed, us running, same execution
 * name `support-ticket-escalation-to-the-crm-t-<hash>`), 1 message record (eu, sent), 1 POST (to /eu).
 * Found by the thirty-sixth hostile audit. Now: a journey id over 38 characters names its runs by its first 29 and a
 * hash of it all (`executionName`); a run started under the old name is still found by its journey's starter.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { client } from '../helpers/client';
import { startTestEngine, TEST_SECRET } from '../helpers/engine';
import { messagesOf, runsOf, runToEnd } from '../helpers/journeys';

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-webhook-prefix-'));
const received: Array<{ path: string; id: string }> = [];
let receiver: Server;
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;
// Two journeys whose ids differ only after their 38th character.
const EU = 'support-ticket-escalation-to-the-crm-team-eu';
const US = 'support-ticket-escalation-to-the-crm-team-us';

beforeAll(async () => {
  receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      received.push({ path: req.url ?? '', id: String(req.headers['webhook-id']) });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  for (const [id, target] of [[EU, 'crm-eu'], [US, 'crm-us']] as const) {
    writeFileSync(
      path.join(dir, 'journeys', `${id}.yaml`),
      [`id: ${id}`, `name: ${id}`, 'version: 1', 'trigger: { event: Help Requested }', 'entry: { reentry: always }', 'steps:', '  - id: post-ticket', `    webhook: { target: ${target}, template: ticket }`, ''].join('\n'),
    );
  }
  writeFileSync(path.join(dir, 'templates', 'ticket.webhook.liquid'), '{ "customerId": {{ profile.id | json }} }');
  engine = await startTestEngine({
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    clock,
    sendPolicy: { quietHours: undefined },
    outboundWebhooks: { 'crm-eu': { url: `${base}/eu`, secret: TEST_SECRET }, 'crm-us': { url: `${base}/us`, secret: TEST_SECRET } },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
  });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('two journeys triggered by one event, each with a webhook step of the same id', () => {
  it('each journey claims its own message and posts to its own receiver with its own webhook-id', async () => {
    await api.send([{ type: 'identify', userId: 'wp-1', traits: {} }, { type: 'track', userId: 'wp-1', event: 'Help Requested' }]);
    await runToEnd(clock, engine, 'wp-1', EU);
    await clock.run();
    await engine.settle();
    const runs = (await runsOf(engine, 'wp-1')).map((r) => [r.journeyId, r.status, r.executionName]);
    const records = (await messagesOf(engine, 'wp-1')).filter((m) => m.stepId === 'post-ticket');
    const measured = `runs ${JSON.stringify(runs)}; records ${JSON.stringify(records.map((r) => [r.journeyId, r.status]))}; posts ${JSON.stringify(received)}`;
    // The promise: each journey runs, and one message (claim, record, webhook-id) per journey's step, each delivered.
    expect(runs.map((r) => r[0]).sort(), measured).toEqual([EU, US].sort());
    // The promise: one message (claim, record, webhook-id) per journey's step, each delivered to its receiver.
    expect(records.map((r) => r.journeyId).sort(), measured).toEqual([EU, US].sort());
    expect(received.map((r) => r.path).sort(), measured).toEqual(['/eu', '/us']);
    expect(new Set(received.map((r) => r.id)).size, measured).toBe(2);
  });
});
