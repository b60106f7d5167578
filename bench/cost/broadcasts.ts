/**
 * $ per 1M broadcast recipients in AWS (`npm run cost`, section 4; alone: `npx tsx bench/cost/broadcasts.ts`).
 *
 * Measured on the embedded engine: COST_BROADCAST_RECIPIENTS customers (default 400, each reachable by
 * email, none sent to before) get one marketing email broadcast. Counted during the broadcast only: the
 * DynamoDB request units every call consumed (dynalite computes them as DynamoDB does: 1 WRU per KB written,
 * 1 RRU per 4 KB read strongly consistent; a failed conditional write 1 WRU), the page function's
 * invocations and the DynamoDB calls each made, the state machine's transitions. Priced at the list
 * prices of prices.ts, scaled to 1M recipients. The page function's billed time is modelled, not
 * measured (this machine is not Lambda): per recipient, its DynamoDB calls at AWS_CALL_MS.dynamo and
 * one SES call, PAGE_CONCURRENCY recipients at once. The floor is SES's own price.
 */
import { GENERATION_PAGES, PAGE_CONCURRENCY, PAGE_SIZE } from '../../functions/broadcasts';
import { emptyProfile } from '../../functions/profile';
import { BROADCASTS } from '../../infra/cdk/defaults';
import { startEngine } from '../../infra/embedded/engine';
import { mapLimit } from '../../shared';
import { AWS_CALL_MS, PLATFORM_LOG_BYTES_PER_INVOCATION, PRICES } from './prices';
import { fmtN, usd } from './report';

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

export interface BroadcastCost {
  recipients: number;
  /** The sample's own: DynamoDB per recipient (scales linearly), its page invocations and transitions (a fixed part and one per page). */
  sample: { invocations: number; transitions: number };
  /** Per recipient at 1M: DynamoDB as measured; invocations and transitions of 1M recipients in pages of PAGE_SIZE. */
  perRecipient: { rru: number; wru: number; dynamoCalls: number; transitions: number; invocations: number };
  perMillion: { lambda: number; stepFunctions: number; dynamodb: number; logs: number; ses: number; total: number };
}

/** Run one broadcast on the embedded engine and price what it used, per 1M recipients. */
export async function measureBroadcastCost(recipients = Number(process.env.COST_BROADCAST_RECIPIENTS ?? 400)): Promise<BroadcastCost> {
  const engine = await startEngine({ port: 0, dataDir: null, sources: [{ id: 'default', webhookSecrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], writeKeys: [] }], sweepEveryMs: 0, logLevel: 'SILENT', sendPolicy: { quietHours: undefined } });
  try {
    const now = new Date().toISOString();
    const ids = Array.from({ length: recipients }, (_, i) => `cost-${String(i).padStart(6, '0')}`);
    await mapLimit(ids, 16, async (id) => {
      const profile = emptyProfile(id, now);
      profile.traits.email = `${id}@example.com`;
      profile.traits.firstName = 'Ada';
      await engine.profiles.put({ profile, version: 1, applied: [], outbox: [] }, undefined);
      await engine.profiles.segments.change(id, 'tag:cost', true, 1);
    });

    // Count from here: the broadcast alone.
    const units = { rru: 0, wru: 0, calls: 0 };
    engine.dynamo.client.middlewareStack.add(
      (next, context) => async (args) => {
        const op = (context.commandName ?? '').replace(/Command$/, '');
        const input = args.input as Record<string, unknown>;
        units.calls++;
        try {
          const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
          const consumed = [(result.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity ?? []].flat();
          const n = consumed.reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0) || 1;
          if (READS.has(op)) units.rru += n;
          else units.wru += n;
          return result;
        } catch (error) {
          if ((error as Error).name === 'ConditionalCheckFailedException') units.wru += 1;
          throw error;
        }
      },
      { step: 'initialize', name: 'broadcastCostUnits', priority: 'low' },
    );
    const res = await fetch(`${engine.url}/v1/broadcasts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'cost', segment: 'tag:cost', send: { channel: 'email', template: 'we-value-you', kind: 'marketing' } }),
    });
    if (res.status !== 201) throw new Error(`POST /v1/broadcasts answered ${res.status}`);
    await engine.broadcasts.sfn.idle();
    const view = (await engine.broadcasts.store.get('cost'))!;
    if (view.counters.sent !== recipients) throw new Error(`sent ${view.counters.sent ?? 0} of ${recipients}`);
    const executions = [...engine.broadcasts.sfn.executions.values()];
    const transitions = executions.reduce((n, e) => n + e.states.length, 0);
    const invocations = executions.reduce((n, e) => n + e.states.filter((s) => s === 'Page').length, 0);

    const m = 1e6;
    // At 1M: a page per PAGE_SIZE members, one more for the deferred pass (none deferred here); Page and Route per
    // page, Scheduled and Done per execution (a new one every GENERATION_PAGES pages). The sample shows the same shape.
    const pages = Math.ceil(m / PAGE_SIZE) + 1;
    const perRecipient = {
      rru: units.rru / recipients,
      wru: units.wru / recipients,
      dynamoCalls: units.calls / recipients,
      transitions: (2 * pages + 2 * Math.ceil(pages / GENERATION_PAGES)) / m,
      invocations: pages / m,
    };
    // Billed time per recipient: its DynamoDB calls and the SES call, PAGE_CONCURRENCY at once.
    const msPerRecipient = (perRecipient.dynamoCalls * AWS_CALL_MS.dynamo + AWS_CALL_MS.sesSend) / PAGE_CONCURRENCY;
    const gbSeconds = (BROADCASTS.page.memorySize / 1024) * ((msPerRecipient * m) / 1000);
    const lambda = perRecipient.invocations * m * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecond;
    const stepFunctions = perRecipient.transitions * m * PRICES.transition;
    const dynamodb = perRecipient.rru * m * PRICES.rru + perRecipient.wru * m * PRICES.wru;
    // Two INFO lines (page done, and Powertools' cold start on some) and the platform lines per invocation.
    const logs = ((perRecipient.invocations * m * (PLATFORM_LOG_BYTES_PER_INVOCATION + 600)) / 1e9) * PRICES.logsPerGb;
    const ses = m * PRICES.email;
    return { recipients, sample: { invocations, transitions }, perRecipient, perMillion: { lambda, stepFunctions, dynamodb, logs, ses, total: lambda + stepFunctions + dynamodb + logs + ses } };
  } finally {
    await engine.stop();
  }
}

/** The report lines of section 4. */
export function broadcastCostLines(c: BroadcastCost): string[] {
  const p = c.perMillion;
  const r = c.perRecipient;
  return [
    `\n4. broadcasts: $ per 1M recipients (one marketing email each; DynamoDB measured on ${fmtN(c.recipients)} recipients, ${c.sample.invocations} page invocations and ${c.sample.transitions} transitions; pages of ${PAGE_SIZE} at 1M)`,
    `   page function (${BROADCASTS.page.memorySize} MB, ${fmtN(1 / r.invocations)} recipients/invocation, ${fmtN(r.dynamoCalls)} DynamoDB calls/recipient)  ${usd(p.lambda).padStart(10)}`,
    `   Step Functions Standard (${fmtN(r.transitions * 1000)} transitions per 1,000 recipients)                       ${usd(p.stepFunctions).padStart(10)}`,
    `   DynamoDB (${fmtN(r.rru)} RRU + ${fmtN(r.wru)} WRU per recipient)                                        ${usd(p.dynamodb).padStart(10)}`,
    `   CloudWatch Logs (platform and INFO lines per invocation)                                     ${usd(p.logs).padStart(10)}`,
    `   SES ($0.10 per 1,000 emails: the floor)                                                      ${usd(p.ses).padStart(10)}`,
    `   total ${usd(p.total)} per 1M recipients = ${(p.total / p.ses).toFixed(2)}x the floor (${usd(p.ses)}); Rapport's own share ${usd(p.total - p.ses)}`,
  ];
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/bench\//, '/bench/'))) {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const writeStderr = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => (String(chunk).includes('No application metrics to publish') ? true : writeStderr(chunk, ...rest))) as typeof process.stderr.write;
  for (const line of broadcastCostLines(await measureBroadcastCost())) console.log(line);
}
