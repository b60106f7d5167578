/** `npm start`: the embedded engine on 127.0.0.1, configured from the environment. */
import { watch, type FSWatcher } from 'node:fs';
import { ENV } from '../../shared';
import { formatProblems, type JourneyProblem } from '../../workflows/journeys';
import { configFromEnv, reloadJourneys, startEngine } from './engine';
import { dataFolderClock } from './journey-clock';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

const config = configFromEnv();
const scale = Number(process.env[ENV.TIME_SCALE] ?? 1);
if (!(scale > 0)) throw new Error(`${ENV.TIME_SCALE} must be a positive number, got ${JSON.stringify(process.env[ENV.TIME_SCALE])}`);
const webhooksJson = process.env[ENV.OUTBOUND_WEBHOOKS];
const outboundWebhooks = webhooksJson ? (JSON.parse(webhooksJson) as Record<string, { url: string; secret: string }>) : undefined;
const engine = await startEngine({
  port: config.port,
  dataDir: config.dataDir,
  unsubscribeKeys: config.unsubscribeKeys,
  allowedHosts: config.allowedHosts,
  broadcastRates: config.broadcastRates,
  // A scaled clock goes on across restarts: saved waits fire when they were due.
  clock: dataFolderClock(config.dataDir, scale),
  ...(outboundWebhooks && { outboundWebhooks }),
  sources: [{ id: config.source.id, webhookSecrets: [config.source.webhookSecret], writeKeys: [config.source.writeKey] }],
});

const note = (generated: boolean) => (generated ? ' (development value, kept in the data folder)' : '');
console.log(`Rapport embedded engine listening on ${engine.url}
  web page           ${engine.url}/ui   journeys, live counts, customers, segments, outbox
  data folder        ${config.dataDir}
  journeys           ${engine.journeys.compiled.map((j) => j.id).join(', ')} (time scale ${scale}x)
  webhook secret     ${config.source.webhookSecret}${note(config.generated.webhookSecret)}
  Segment write key  ${config.source.writeKey}${note(config.generated.writeKey)}

  POST ${engine.url}/v1/events      Standard Webhooks signed events
  POST ${engine.url}/v1/batch       Segment HTTP Tracking API (also /v1/track, /v1/identify, ...)
  GET  ${engine.url}/v1/bus/events  events on the bus, in order
  GET  ${engine.url}/v1/customers/{id}   profile (also /events, /messages, /journeys, /export; DELETE erases)
  GET  ${engine.url}/v1/journeys    journeys (and /v1/journeys/{id}/stats), GET /v1/outbox: messages sent
`);

// A journey, template or topics.yaml saved: reloaded as `POST /v1/admin/reload` does (runs in flight keep their version; a broken
// file changes nothing and is reported here). Saves come in bursts (editors write twice): one reload per pause.
let pending: NodeJS.Timeout | undefined;
const reloadSoon = () => {
  clearTimeout(pending);
  pending = setTimeout(() => {
    let answer: ReturnType<typeof reloadJourneys>;
    try {
      answer = reloadJourneys(engine.journeys);
    } catch (error) {
      // Anything else a folder can hold mid-edit (a file gone between listing and reading): reported, the engine runs on.
      return console.error(`journeys not reloaded (the running ones are unchanged): ${(error as Error).message}`);
    }
    if (answer.status !== 200) return console.error(`journeys not reloaded (the running ones are unchanged):\n${formatProblems(answer.body.problems as JourneyProblem[])}`);
    const changes = answer.body.changes as { id: string; change: string; from?: number; to?: number }[];
    console.log(changes.length === 0 ? 'journeys reloaded: no change' : `journeys reloaded: ${changes.map((c) => `${c.id} ${c.change}${c.to !== undefined ? ` (v${c.to})` : ''}`).join(', ')}`);
  }, 300);
};
const watchers: FSWatcher[] = [
  ...['workflows/journeys.d', 'workflows/templates'].map((dir) => watch(dir, reloadSoon)),
  // topics.yaml: journeys are checked against it, the preference page lists it.
  watch('workflows', (_event, file) => {
    if (file === 'topics.yaml') reloadSoon();
  }),
];

const shutdown = async () => {
  for (const watcher of watchers) watcher.close();
  clearTimeout(pending);
  await engine.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
