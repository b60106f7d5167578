/** Pricing a metered sample, and the tables `npm run cost` prints. */
import { INGEST, JOURNEYS, PROFILE } from '../../infra/cdk/defaults';
import { FUNCTIONS, type DynamoRow, type Fn, type Usage } from './meter';
import { AWS_CALL_MS, PLATFORM_LOG_BYTES_PER_INVOCATION, PRICES } from './prices';

/** Memory of each function as the CDK stack deploys it (arm64). */
export const MEMORY_MB: Record<Fn, number> = {
  ingest: INGEST.memorySize,
  profile: PROFILE.consumer.memorySize,
  starter: JOURNEYS.starter.memorySize,
  steps: JOURNEYS.step.memorySize,
  runEnded: JOURNEYS.runEnded.memorySize,
  sweep: PROFILE.sweep.memorySize,
  other: 512,
};
export const FN_LABEL: Record<Fn, string> = {
  ingest: 'ingest',
  profile: 'profile consumer',
  starter: 'journey starter',
  steps: 'journey steps',
  runEnded: 'run-ended',
  sweep: 'daily sweep',
  other: 'other',
};

/** Billed Lambda milliseconds: measured in-process wall time + AWS round trips the engine answered in-process. */
export function lambdaMs(u: Usage, fn: Fn): { measured: number; allowance: number } {
  const f = u.fns[fn];
  const calls = f.dynamoCalls * AWS_CALL_MS.dynamo + f.putEventsCalls * AWS_CALL_MS.putEvents + f.sfnCalls * AWS_CALL_MS.stepFunctionsApi + f.emails * AWS_CALL_MS.sesSend + f.webhooks * AWS_CALL_MS.outboundWebhook;
  // Calls made side by side (Promise.all) overlap in AWS as they did here: scale by the overlap measured locally.
  const overlap = f.ioSumMs > 0 ? Math.min(1, f.localIoMs / f.ioSumMs) : 1;
  return { measured: f.ms, allowance: calls * overlap };
}

export interface Line {
  item: string;
  calls: number;
  callUnit: string;
  units: number;
  unit: string;
  /** Dollars for the sample as measured. */
  usd: number;
  note?: string;
}

const sum = (rows: Iterable<DynamoRow>, pick: (r: DynamoRow) => number) => [...rows].reduce((n, r) => n + pick(r), 0);
const isRead = (key: string) => /\t(GetItem|Query|Scan|BatchGetItem)\t/.test(key);

/** The bill of a sample, line by line, at list prices. */
export function price(u: Usage): Line[] {
  const lines: Line[] = [];
  if (u.api.requests > 0) lines.push({ item: 'API Gateway HTTP API', calls: u.api.requests, callUnit: 'req', units: u.api.billed, unit: 'req', usd: u.api.billed * PRICES.apiRequest });
  if (u.bus.calls > 0) {
    const derived = u.bus.entries - u.bus.byFn.ingest.entries;
    lines.push({ item: 'EventBridge PutEvents', calls: u.bus.calls, callUnit: 'calls', units: u.bus.chunks, unit: 'events', usd: u.bus.chunks * PRICES.busEvent, note: `${fmtN(u.bus.entries)} entries (${fmtN(derived)} derived), ${fmtN(u.bus.bytes / Math.max(1, u.bus.entries))} B avg` });
    lines.push({ item: 'EventBridge archive', calls: u.bus.entries, callUnit: 'entries', units: u.bus.bytes / 1e9, unit: 'GB', usd: (u.bus.bytes / 1e9) * PRICES.archivePerGb });
  }
  let logBytes = 0;
  let invocations = 0;
  for (const fn of FUNCTIONS) {
    const f = u.fns[fn];
    if (f.invocations === 0) continue;
    logBytes += f.logBytes + f.invocations * PLATFORM_LOG_BYTES_PER_INVOCATION;
    invocations += f.invocations;
    const { measured, allowance } = lambdaMs(u, fn);
    const gbs = (MEMORY_MB[fn] / 1024) * ((measured + allowance) / 1000);
    lines.push({
      item: `Lambda ${FN_LABEL[fn]} (${MEMORY_MB[fn]} MB)`,
      calls: f.invocations,
      callUnit: 'inv',
      units: gbs,
      unit: 'GB-s',
      usd: f.invocations * PRICES.lambdaRequest + gbs * PRICES.lambdaGbSecond,
      note: `${(measured / f.invocations).toFixed(1)} ms in-process + ${(allowance / f.invocations).toFixed(1)} ms AWS I/O per inv`,
    });
  }
  if (invocations > 0) {
    const own = FUNCTIONS.reduce((n, fn) => n + u.fns[fn].logBytes, 0);
    lines.push({ item: 'CloudWatch Logs', calls: invocations, callUnit: 'inv', units: logBytes / 1e9, unit: 'GB', usd: (logBytes / 1e9) * PRICES.logsPerGb, note: `${fmtN(own / invocations)} B/inv of INFO lines and EMF metrics + ${PLATFORM_LOG_BYTES_PER_INVOCATION} B platform lines (est.)` });
  }
  const rows = [...u.dynamo.entries()];
  const writes = rows.filter(([k]) => !isRead(k)).map(([, r]) => r);
  const reads = rows.filter(([k]) => isRead(k)).map(([, r]) => r);
  if (writes.length > 0) {
    const table = sum(writes, (r) => r.wru);
    const gsi = sum(writes, (r) => r.gsiWru);
    lines.push({
      item: 'DynamoDB writes',
      calls: sum(writes, (r) => r.calls),
      callUnit: 'calls',
      units: table + gsi,
      unit: 'WRU',
      usd: (table + gsi) * PRICES.wru,
      note: `table ${fmtN(table)} + GSI ${fmtN(gsi)} WRU; ${fmtN(sum(writes, (r) => r.failed))} refused conditional writes`,
    });
  }
  if (reads.length > 0) {
    const rru = sum(reads, (r) => r.rru);
    lines.push({ item: 'DynamoDB reads', calls: sum(reads, (r) => r.calls), callUnit: 'calls', units: rru, unit: 'RRU', usd: rru * PRICES.rru });
  }
  if (u.sfn.executions > 0) lines.push({ item: 'Step Functions Standard', calls: u.sfn.executions, callUnit: 'exec', units: u.sfn.transitions, unit: 'transitions', usd: u.sfn.transitions * PRICES.transition, note: `${fmtN(u.sfn.tasks)} Task states` });
  if (u.out.email > 0) lines.push({ item: 'SES email', calls: u.out.email, callUnit: 'emails', units: u.out.email, unit: 'emails', usd: u.out.email * PRICES.email });
  if (u.out.sms > 0) lines.push({ item: 'SMS (End User Messaging)', calls: u.out.sms, callUnit: 'sms', units: u.out.sms, unit: 'sms', usd: 0, note: 'not priced (per country)' });
  if (u.out.webhook > 0) lines.push({ item: 'outbound webhooks', calls: u.out.webhook, callUnit: 'posts', units: 0, unit: '', usd: 0, note: 'no AWS charge beyond the step Lambda time' });
  return lines;
}

export const total = (lines: Line[]) => lines.reduce((n, l) => n + l.usd, 0);

/** The theoretical floor of one event: 1 HTTP API request, 1 PutEvents entry (<= 64 KB), 1 DynamoDB write (<= 1 KB). */
export const floorPerEvent = () => PRICES.apiRequest + PRICES.busEvent + PRICES.wru;

export function fmtN(n: number): string {
  if (n === 0) return '0';
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  if (abs >= 0.01) return n.toFixed(3);
  return n.toPrecision(2);
}
export const usd = (n: number) => `$${n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 1 ? n.toFixed(2) : n.toFixed(4)}`;

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/**
 * One scenario's table: what the sample made (calls, units), the same scaled by
 * `scale` (units and dollars), each line's share, and notes.
 */
export function table(lines: Line[], scale: number, scaledLabel: string): string {
  const t = total(lines) * scale;
  const out: string[] = [];
  out.push(`  ${pad('line', 34)} ${lpad('sample: calls', 20)} ${lpad('units', 16)} | ${lpad(`${scaledLabel}: units`, 28)} ${lpad('$', 10)} ${lpad('share', 6)}  notes`);
  for (const l of lines) {
    const scaled = l.units * scale;
    out.push(
      `  ${pad(l.item, 34)} ${lpad(`${fmtN(l.calls)} ${l.callUnit}`, 20)} ${lpad(l.unit ? `${fmtN(l.units)} ${l.unit}` : '', 16)} | ${lpad(l.unit ? `${fmtN(scaled)} ${l.unit}` : '', 28)} ${lpad(usd(l.usd * scale), 10)} ${lpad(t > 0 ? `${((l.usd * scale * 100) / t).toFixed(1)}%` : '', 6)}  ${l.note ?? ''}`,
    );
  }
  out.push(`  ${pad('total', 34)} ${lpad('', 20)} ${lpad('', 16)} | ${lpad('', 28)} ${lpad(usd(t), 10)}`);
  return out.join('\n');
}

/** DynamoDB by function, operation and item kind: where the units go (scaled), biggest first. */
export function dynamoTable(u: Usage, scale: number, scaledLabel: string, top = 12): string {
  const rows = [...u.dynamo.entries()]
    .map(([key, r]) => {
      const [fn, op, kind] = key.split('\t') as [Fn, string, string];
      const usdScaled = ((r.wru + r.gsiWru) * PRICES.wru + r.rru * PRICES.rru) * scale;
      return { fn, op, kind, r, usdScaled };
    })
    .sort((a, b) => b.usdScaled - a.usdScaled);
  const all = rows.reduce((n, r) => n + r.usdScaled, 0);
  const out = [`  ${pad('function', 18)} ${pad('operation', 14)} ${pad('item', 20)} ${lpad('calls', 8)} ${lpad('WRU/call', 9)} ${lpad('GSI/call', 9)} ${lpad('RRU/call', 9)} | ${lpad(`$ ${scaledLabel}`, 16)} ${lpad('share', 6)}`];
  for (const x of rows.slice(0, top)) {
    const c = x.r.calls;
    out.push(
      `  ${pad(FN_LABEL[x.fn], 18)} ${pad(x.op, 14)} ${pad(x.kind, 20)} ${lpad(fmtN(c), 8)} ${lpad(x.r.wru ? (x.r.wru / c).toFixed(2) : '-', 9)} ${lpad(x.r.gsiWru ? (x.r.gsiWru / c).toFixed(2) : '-', 9)} ${lpad(x.r.rru ? (x.r.rru / c).toFixed(2) : '-', 9)} | ${lpad(usd(x.usdScaled), 16)} ${lpad(all > 0 ? `${((x.usdScaled * 100) / all).toFixed(1)}%` : '', 6)}`,
    );
  }
  if (rows.length > top) out.push(`  ... ${rows.length - top} smaller rows: ${usd(rows.slice(top).reduce((n, r) => n + r.usdScaled, 0))}`);
  return out.join('\n');
}

/** Multiply every count of a usage (for per-entry averages and weighted mixes). */
export function scaleUsage(u: Usage, k: number): Usage {
  const s = structuredClone(u);
  const mul = <T extends object>(o: T) => {
    for (const key of Object.keys(o) as Array<keyof T>) if (typeof o[key] === 'number') (o[key] as number) *= k;
  };
  mul(s.api);
  mul(s.bus);
  for (const f of FUNCTIONS) {
    mul(s.bus.byFn[f]);
    mul(s.fns[f]);
  }
  for (const [t, n] of s.bus.byType) s.bus.byType.set(t, n * k);
  for (const r of s.dynamo.values()) mul(r);
  mul(s.sfn);
  for (const j of s.sfn.byJourney.values()) mul(j);
  mul(s.out);
  return s;
}
