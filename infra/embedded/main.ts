/** `npm start`: the embedded engine on 127.0.0.1, configured from the environment. */
import { configFromEnv, startEngine } from './engine';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';

const config = configFromEnv();
const engine = await startEngine({
  port: config.port,
  dataDir: config.dataDir,
  unsubscribeSecret: config.unsubscribeSecret,
  sources: [{ id: config.source.id, webhookSecrets: [config.source.webhookSecret], writeKeys: [config.source.writeKey] }],
});

const note = (generated: boolean) => (generated ? ' (development value, kept in the data folder)' : '');
console.log(`Rapport embedded engine listening on ${engine.url}
  data folder        ${config.dataDir}
  webhook secret     ${config.source.webhookSecret}${note(config.generated.webhookSecret)}
  Segment write key  ${config.source.writeKey}${note(config.generated.writeKey)}

  POST ${engine.url}/v1/events      Standard Webhooks signed events
  POST ${engine.url}/v1/batch       Segment HTTP Tracking API (also /v1/track, /v1/identify, ...)
  GET  ${engine.url}/v1/bus/events  events on the bus, in order
`);

const shutdown = async () => {
  await engine.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
