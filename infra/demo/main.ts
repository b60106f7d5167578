/**
 * `npm run demo`: a synthetic population (200 customers over 120 days, seed 42
 * by default) replayed through the embedded engine, in memory, on virtual time;
 * then the funnel of each built-in journey, the lifecycle stages, RFM tiers and
 * tags of the population, and the totals. Progress goes to stderr.
 *
 *   npm run demo -- --customers 200 --days 60 --seed 7
 *   npm run demo -- --out population.ndjson     # also write the events (for `rapport simulate`)
 *   npm run demo -- --no-quiet-hours --no-drain
 */
import { parseArgs } from 'node:util';
import { DEMO_CATEGORY, generatePopulation, writePopulation } from './population';

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const USAGE = `Usage: npm run demo -- [--customers 200] [--days 120] [--seed 42] [--start 2026-01-01]
                       [--no-quiet-hours] [--no-drain] [--out file.ndjson] [--generate-only]
                       [--categories sofa,coffee-table] [--phones 0.6]

  --customers <N>     customers in the population (default 200, about 2 minutes; 1,000 take about 10)
  --days <D>          length of the window in days (default 120)
  --seed <S>          PRNG seed: the same seed gives the same events (default 42)
  --start <date>      day 0 of the window, UTC (default 2026-01-01)
  --no-quiet-hours    send marketing at any hour (default: the engine's 21:00-08:00 in each customer's time zone)
  --no-drain          stop at the end of the window and report the runs still in progress
                      (default: let them finish, up to the longest remaining wait)
  --out <file>        also write the population as NDJSON (one event per line, in time order)
  --generate-only     write --out and stop (no engine)
  --categories <list> product categories for views and orders, comma-separated (default: the built-in eight),
                      for a journey whose conditions name its own (products: { category: [sofa] }); a repeat
                      buyer's next order mostly follows the list (sofa, then coffee-table: the cross-sell)
  --phones <share>    share of customers with a phone trait, 0 to 1 (fictional numbers; default 0), for SMS journeys`;

function whole(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(value)}\n\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

let args;
try {
  args = parseArgs({
    options: {
      customers: { type: 'string' },
      days: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      scale: { type: 'string' },
      'no-quiet-hours': { type: 'boolean' },
      'no-drain': { type: 'boolean' },
      out: { type: 'string' },
      'generate-only': { type: 'boolean' },
      categories: { type: 'string' },
      phones: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const customers = whole('customers', args.customers, 200, 1);
const days = whole('days', args.days, 120, 1);
const seed = whole('seed', args.seed, 42, Number.MIN_SAFE_INTEGER);
const start = new Date(args.start ?? '2026-01-01T00:00:00Z');
if (Number.isNaN(start.getTime())) {
  console.error(`--start must be a date like 2026-01-01, got ${JSON.stringify(args.start)}`);
  process.exit(2);
}
// Before virtual time, --scale set the replay's speed.
if (args.scale !== undefined) console.error('[demo] --scale is ignored: the demo runs on virtual time (each event at its timestamp, each wait to the second)');
if (args['generate-only'] && !args.out) {
  console.error(`--generate-only needs --out <file>\n\n${USAGE}`);
  process.exit(2);
}

const categories = args.categories?.split(',').map((c) => c.trim());
if (categories !== undefined && (categories.length === 0 || categories.some((c) => !DEMO_CATEGORY.test(c)))) {
  console.error(`--categories must be category names separated by commas (letters, digits, space, - or _, at most 50 each), got ${JSON.stringify(args.categories)}\n\n${USAGE}`);
  process.exit(2);
}
const phones = args.phones === undefined ? undefined : Number(args.phones);
if (phones !== undefined && !(args.phones!.trim() !== '' && phones >= 0 && phones <= 1)) {
  console.error(`--phones must be a share from 0 to 1 (e.g. 0.6), got ${JSON.stringify(args.phones)}\n\n${USAGE}`);
  process.exit(2);
}

const population = generatePopulation({ customers, days, seed, start, ...(categories && { categories }), ...(phones !== undefined && { phones }) });
if (args.out) {
  writePopulation(args.out, population);
  console.error(`[demo] wrote ${population.events.length.toLocaleString('en-US')} events to ${args.out}`);
  if (args['generate-only']) process.exit(0);
}
// The engine (AWS SDK clients, dynalite, the executor) loads only now: usage errors and --generate-only answer at once.
const { runDemo } = await import('./demo');
await runDemo(population, { quietHours: !args['no-quiet-hours'], drain: !args['no-drain'] });
// Exit once the output is flushed: runs stopped with the engine may leave timers behind.
process.stdout.write('', () => process.stderr.write('', () => process.exit(0)));
