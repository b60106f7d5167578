/**
 * The commands: their options (for `node:util` parseArgs), their help, and a
 * lazy import of their implementation, so `rapport --help` and `rapport send`
 * do not load the journey compiler or the embedded engine.
 */
import type { ParseArgsConfig } from 'node:util';
import { CHANNEL_ADDRESS_TRAIT, MESSAGE_CHANNELS, orList } from '../../shared/channels';
import type { Context, ExitCode } from './io';

/** `email|sms|...`: the channels a message goes on (the registry's), as usage lines write them. */
const CHANNEL_CHOICES = MESSAGE_CHANNELS.join('|');

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  readonly options: Options;
  /** How many positionals the command takes (min..max). */
  readonly positionals: readonly [number, number];
  readonly load: () => Promise<{ execute(args: Parsed, ctx: Context): Promise<ExitCode> }>;
}

const DIR_HELP = `  --config <folder>     folder holding tags.yaml, segmentation.config.yaml, templates/ and journeys.d/
                        (default: the nearest workflows/ folder, here or above)
  --journeys <folder>   take the journeys from this folder instead of <config>/journeys.d`;
const TARGETS_HELP =
  '  --webhook-targets <a,b>  outbound webhook names journeys may post to (default: the keys of RAPPORT_OUTBOUND_WEBHOOKS, else support,supervisor,\n                        as the embedded engine)';
const config = { type: 'string' } as const;
const journeys = { type: 'string' } as const;
const targets = { type: 'string' } as const;
const help = { type: 'boolean', short: 'h' } as const;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'validate',
    summary: 'check every journey, template, tags.yaml and segmentation.config.yaml',
    positionals: [0, 0],
    options: { config, journeys, 'webhook-targets': targets, help },
    help: `Usage: rapport validate [--config workflows] [--journeys folder]

Checks every journey in <config>/journeys.d (or --journeys) against the templates
in <config>/templates, the tag rules in <config>/tags.yaml and
<config>/segmentation.config.yaml, the way the engine and the CDK stack load them,
and compiles each journey (checking the result with asl-validator). Prints each
problem on stdout as

  file:line:col  path: message

(paths relative to the current folder, so editors link them), then a summary line.

Options:
${DIR_HELP}
${TARGETS_HELP}
  -h, --help            show this help

Exit codes: 0 everything is valid, 1 any problem, 2 usage error.`,
    load: () => import('./commands/validate'),
  },
  {
    name: 'graph',
    summary: 'print a journey as a Mermaid diagram',
    positionals: [1, 1],
    options: { config, journeys, markdown: { type: 'boolean' }, 'webhook-targets': targets, help },
    help: `Usage: rapport graph <journey> [--markdown] [--config workflows] [--journeys folder]

Prints the journey's steps and branches as a Mermaid flowchart (graph TD): paste
it into a Markdown file, a GitHub comment or a Mermaid live editor. <journey> is a
journey id (the file <journeys>/<journey>.yaml, or the file whose id: it is) or
the path of a journey file (.yaml), which need not be in journeys.d.

Options:
  --markdown            wrap it in a \`\`\`mermaid block, as GitHub renders it in a pull request
${DIR_HELP}
${TARGETS_HELP}
  -h, --help            show this help

Exit codes: 0 ok, 1 unknown or invalid journey (its problems are printed on stderr
as file:line:col  path: message), 2 usage error.`,
    load: () => import('./commands/graph'),
  },
  {
    name: 'compile',
    summary: "write each journey's Step Functions definition and EventBridge patterns",
    positionals: [0, 0],
    options: { config, journeys, out: { type: 'string', default: 'build/journeys' }, 'step-function-arn': { type: 'string' }, 'webhook-targets': targets, help },
    help: `Usage: rapport compile [--out build/journeys] [--config workflows] [--journeys folder]

Compiles every journey and writes, per journey, for review:
  <out>/<id>.asl.json    the state machine (JSONPath ASL, checked with asl-validator)
  <out>/<id>.rules.json  its EventBridge patterns: trigger, goals, exits
then prints the state transitions of every path (Step Functions bills each one).
Nothing is written when any journey has a problem.

Options:
  --out <folder>        where to write (default: build/journeys)
${DIR_HELP}
  --step-function-arn <arn>  the step Lambda the tasks invoke
                        (default: the placeholder arn:aws:lambda:REGION:ACCOUNT_ID:function:rapport-steps)
${TARGETS_HELP}
  -h, --help            show this help

Exit codes: 0 ok, 1 any problem, 2 usage error.`,
    load: () => import('./commands/compile'),
  },
  {
    name: 'simulate',
    summary: 'dry-run a journey on the embedded engine against recorded customer histories',
    positionals: [1, 1],
    options: {
      events: { type: 'string' },
      config,
      journeys,
      scale: { type: 'string' },
      'quiet-hours': { type: 'string' },
      'webhook-targets': targets,
      help,
    },
    help: `Usage: rapport simulate <journey> --events <file.ndjson> [--quiet-hours 21:00-08:00|off]
                         [--config workflows] [--journeys folder]

Runs one journey (and no other) on the embedded engine, in memory, on virtual time
that starts at the first event's timestamp and jumps to the next event, wait or
timeout as soon as the engine is idle: every event goes in at its timestamp, every
wait ends to the second, and the same files give the same report on any machine.
<journey> is a journey id or the path of a journey file (which need not be in
journeys.d yet). Each line of the NDJSON file is one Segment-shaped event
({"type":"track","userId":"c1","event":"Signed Up","properties":{...},
"timestamp":"2026-03-02T09:00:00Z"}, see docs/cli.md); events are replayed in
time order, each when the simulated clock reaches its timestamp, signed like a
real sender, so waits and timeouts elapse between them as in the histories.
Then the journey's remaining time (its longest path's waits) runs out, and the
funnel is printed: per step how many customers reached it, what was sent,
skipped (and why) and deferred; entered, goal conversions (and %), exits,
completed and failed runs. Webhook steps post to a local sink, email and SMS
land in the engine's outbox: nothing leaves the machine. Progress goes to stderr
(a line per 10% of the events).

Options:
  --events <file>       NDJSON file of events, each with a "timestamp" (required)
  --quiet-hours <HH:MM-HH:MM|off>  defer marketing sends in these hours of the customer's time zone
                        (timezone trait, else UTC); default: the engine's, 21:00-08:00
${DIR_HELP}
${TARGETS_HELP}
  -h, --help            show this help

Exit codes: 0 ok, 1 invalid journey/config/events (file:line:col on stderr), unknown
journey, or events the engine rejected, 2 usage error (missing --events, no such file).`,
    load: () => import('./commands/simulate'),
  },
  {
    name: 'preview',
    summary: 'render a message as it would go out to one customer',
    positionals: [1, 1],
    options: {
      customer: { type: 'string' },
      profile: { type: 'string' },
      engine: { type: 'string' },
      channel: { type: 'string' },
      kind: { type: 'string' },
      locale: { type: 'string' },
      trigger: { type: 'string' },
      json: { type: 'boolean' },
      config,
      journeys,
      'webhook-targets': targets,
      help,
    },
    help: `Usage: rapport preview <template | journey:step> (--customer <id> [--engine http://127.0.0.1:3000] | --profile <file.json>)
                       [--locale fr] [--trigger '{"orderId":"o-1"}'] [--channel ${CHANNEL_CHOICES}] [--kind marketing|transactional]
                       [--json] [--config workflows] [--journeys folder]

Renders the message exactly as the send gateway would (the same code): the locale
variant chosen for the customer (their locale trait: zh-TW -> zh -> the default file),
the address, the subject, the text and HTML parts and the headers (List-Unsubscribe
for marketing), or the SMS text. Nothing is sent and nothing is recorded. The
templates are read from <config>/templates. <journey:step> renders a journey's send
step with its kind and the journey's template data (trigger properties from --trigger).

Options:
  --customer <id>       the customer as a running engine has them (GET /v1/customers/{id})
  --engine <url>        that engine (default: http://127.0.0.1:$PORT, PORT defaulting to 3000);
                        unsubscribe links point at it
  --profile <file.json> the customer from a file: what GET /v1/customers/{id} answers, or at
                        least {"id": "c1", "traits": {"email": "c1@example.com", "locale": "fr"}}
  --locale <tag>        preview for this locale (sets the locale trait), e.g. fr, zh-TW
  --trigger <json>      the trigger's properties a journey's run carries (journey:step)
  --channel <channel>   ${orList(MESSAGE_CHANNELS)}, for a template name that has several
  --kind <kind>         marketing (default) or transactional, for a template name
  --json                print the rendered message as JSON
${DIR_HELP}
  -h, --help            show this help

Unsubscribe links are signed with $RAPPORT_UNSUBSCRIBE_SECRET, else the key \`npm start\`
keeps in its data folder (.rapport/dev-credentials.json), as the engine signs them.

Exit codes: 0 rendered, 1 a template error or the engine refused (no such customer),
2 usage error, 3 could not reach the engine.`,
    load: () => import('./commands/preview'),
  },
  {
    name: 'send-test',
    summary: "send one test message through a running engine's channel",
    positionals: [1, 1],
    options: {
      to: { type: 'string' },
      engine: { type: 'string' },
      channel: { type: 'string' },
      kind: { type: 'string' },
      customer: { type: 'string' },
      locale: { type: 'string' },
      json: { type: 'boolean' },
      help,
    },
    help: `Usage: rapport send-test <template> --to <address> [--channel ${CHANNEL_CHOICES}] [--customer <id>] [--locale fr]
                         [--engine http://127.0.0.1:3000] [--json]

Sends one real message, rendered as the send gateway renders it, through the engine's
configured channel (the embedded engine: its outbox, GET /v1/outbox) to <address>.
It is a test: it goes to your address whatever any consent says, is tagged test=true
(an email also carries the header X-Rapport-Test: true), and is never recorded as a
customer's message nor counted in any journey's or broadcast's stats.

Options:
  --to <address>        where to send it, written as the channel's address trait holds it
                        (${MESSAGE_CHANNELS.map((c) => `${c}: ${CHANNEL_ADDRESS_TRAIT[c]}`).join(', ')})
  --channel <channel>   ${orList(MESSAGE_CHANNELS)} (default: email)
  --kind <kind>         marketing (default: with List-Unsubscribe headers) or transactional
  --customer <id>       render with this customer's data (default: a customer with no traits)
  --locale <tag>        render this locale's variant, e.g. fr, zh-TW
  --engine <url>        the engine (default: http://127.0.0.1:$PORT, PORT defaulting to 3000)
  --json                print the engine's answer (the message sent) as JSON
  -h, --help            show this help

Exit codes: 0 sent, 1 refused (no such template or customer, a template error),
2 usage error, 3 could not reach the engine.`,
    load: () => import('./commands/send-test'),
  },
  {
    name: 'send',
    summary: 'post a signed sample event to a running engine',
    positionals: [0, 0],
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      event: { type: 'string', default: 'Signed Up' },
      user: { type: 'string', default: 'cust-1' },
      type: { type: 'string', default: 'track' },
      props: { type: 'string' },
      file: { type: 'string' },
      id: { type: 'string' },
      help,
    },
    help: `Usage: rapport send [--url http://127.0.0.1:3000] [--secret whsec_...]
                    [--event "Signed Up"] [--user cust-1] [--props '{"method":"email"}']
                    [--type identify --props '{"email":"ada@example.com"}']
                    [--file event.json]

Posts one event (or a batch) to <url>/v1/events, signed with Standard Webhooks,
and prints the HTTP status and the response body.

Options:
  --url <url>           the engine (default: http://127.0.0.1:$PORT, PORT defaulting to 3000)
  --secret <whsec_...>  the source's webhook secret (default: $RAPPORT_WEBHOOK_SECRET, else the one
                        \`npm start\` keeps in $RAPPORT_DATA_DIR/dev-credentials.json, by default
                        .rapport/dev-credentials.json here or in a folder above)
  --event <name>        track event name (default: Signed Up)
  --user <id>           userId (default: cust-1)
  --type <type>         track (default) or identify (then --props are the traits)
  --props <json>        properties (track) or traits (identify), a JSON object
  --file <file.json>    send this JSON instead: one event, an array of events, or { "batch": [...] }
  --id <webhook-id>     the webhook-id (default: a new one; repeat one to test redelivery)
  -h, --help            show this help

Exit codes: 0 accepted (2xx), 1 refused (4xx) or failed (5xx), 2 usage error,
3 could not reach the engine.`,
    load: () => import('./commands/send'),
  },
  {
    name: 'import',
    summary: 'import history (CSV or NDJSON) into a running engine or a deployed ingest',
    positionals: [1, 1],
    options: {
      engine: { type: 'string' },
      url: { type: 'string' },
      secret: { type: 'string' },
      'write-key': { type: 'string' },
      'batch-size': { type: 'string' },
      checkpoint: { type: 'string' },
      'max-batches': { type: 'string' },
      parallel: { type: 'string' },
      window: { type: 'string' },
      help,
    },
    help: `Usage: rapport import <file.csv|file.ndjson> [--engine http://127.0.0.1:3000 | --url <ingest URL>]
                      [--secret whsec_... | --write-key <key>] [--batch-size 500] [--parallel 1] [--window <lines>]

Posts the file's events in batches, with a progress bar on stderr, then prints a
summary: imported, duplicates (already there), rejected (line number and reason).
Each event's messageId is derived from the file name, its line and the line's text,
so a re-run imports nothing twice. The file is read --window lines at a time and each
window's events are grouped by customer (each customer's in file order), so a batch
carries whole customers, which the engine applies together. After every batch a
checkpoint file records the windows done and the batches done of the window begun
(in the order sent, whatever order parallel requests finish in); an interrupted import
resumes from it (it is removed when done).

CSV: a header row; columns userId (or user_id), anonymousId, event, timestamp and
messageId are the event's own, properties.<name> columns are track properties,
every other column a trait. A row with traits is an identify, a row with an event
a track (both when it has both). NDJSON: one Segment event per line.

Imported events keep their timestamps: journeys are not started by history older
than their trigger's max_age (default 1d); goals and tag rules see it.

Options:
  --engine <url>        a running engine (default: http://127.0.0.1:$PORT, PORT defaulting to 3000)
  --url <url>           a deployed ingest API (same as --engine)
  --secret <whsec_...>  the source's webhook secret (as rapport send; default $RAPPORT_WEBHOOK_SECRET)
  --write-key <key>     post to /v1/batch with this write key instead (default $RAPPORT_WRITE_KEY)
  --batch-size <n>      events per request, 1-500 (default 500)
  --parallel <n>        requests in flight at once, 1-16 (default 1); for a deployed ingest,
                        which scales out (a one-process engine does not get faster, and a
                        request over 30 s is retried and then counted as duplicates). The
                        checkpoint still covers only lines whose batch and all before it were accepted
  --checkpoint <file>   where progress is kept (default <file>.import-checkpoint.json)
  --max-batches <n>     stop after n batches (run again to resume)
  --window <lines>      lines grouped by customer at a time (default 20 batches' worth:
                        10,000 lines at --batch-size 500); 0 keeps the file's order
  -h, --help            show this help

Exit codes: 0 all imported (or already there), 1 lines rejected or a batch refused,
2 usage error.`,
    load: () => import('./commands/import'),
  },
  {
    name: 'dead-letters',
    summary: "list or redrive a running engine's dead letters",
    positionals: [0, 1],
    options: { engine: { type: 'string' }, ids: { type: 'string' }, help },
    help: `Usage: rapport dead-letters [list|redrive] [--engine http://127.0.0.1:3000] [--ids dl-1,dl-4]

The events a target (the profile consumer, a journey starter) failed on after its
retries, kept in the engine's data folder (<data>/dead-letters.ndjson).

  list      one line per dead letter: id, when, rule, event type, customer, messageId, error
  redrive   deliver them to their rule's target again (all, or --ids); each one that
            succeeds leaves the list, one that fails again comes back under a new id

Options:
  --engine <url>        a running engine (default: http://127.0.0.1:$PORT, PORT defaulting to 3000)
  --ids <dl-1,dl-4>     redrive only these
  -h, --help            show this help

Exit codes: 0 ok (every redriven letter delivered), 1 a letter failed again, an id is
unknown or the engine refused, 2 usage error, 3 could not reach the engine.`,
    load: () => import('./commands/dead-letters'),
  },
  {
    name: 'plan',
    summary: 'what a change to the journeys does: journeys, steps, settings and templates changed, and who waits where',
    positionals: [0, 0],
    options: { against: { type: 'string' }, engine: { type: 'string' }, config, journeys, 'webhook-targets': targets, help },
    help: `Usage: rapport plan [--against <git-ref>] [--engine http://127.0.0.1:3000] [--config workflows] [--journeys folder]

Compares the journeys in the working tree with those at a git ref (default HEAD), both
loaded as the engine loads them, and prints per journey:

  + <id> v<n>              added
  - <id> v<n>              removed (new customers no longer enter)
  ~ <id> v<a> -> v<b>      changed: steps added (+), removed (-) and changed (~; a step
                           changes with its definition or with the step after it),
                           settings changed (trigger, audience, entry, send_policy, goals,
                           exits, attribution), templates whose files changed

and warns when steps changed but the version did not. With --engine, it also counts the
runs waiting now at each step that is removed or changed (GET /v1/journeys/{id}/runs):
they finish on the definition and the templates they started with.

Options:
  --against <git-ref>   the commit, branch or tag to compare with (default: HEAD)
  --engine <url>        a running engine to count the runs at the steps that change
${DIR_HELP}
${TARGETS_HELP}
  -h, --help            show this help

Exit codes: 0 nothing changed, 4 something changed, 1 a journey does not load (its problems
printed as file:line:col  path: message), 2 usage error (not a git repository, no such ref,
no engine at --engine).`,
    load: () => import('./commands/plan'),
  },
  {
    name: 'segments',
    summary: "a running engine's segments and their counts, or one segment's members",
    positionals: [0, 1],
    options: { engine: { type: 'string' }, members: { type: 'boolean' }, limit: { type: 'string' }, help },
    help: `Usage: rapport segments [<segment>] [--members] [--limit 100] [--engine http://127.0.0.1:3000]

Every tag, lifecycle stage and RFM tier is a segment: tag:<name>, lifecycle:<stage>,
rfm:<tier>. Counts are exact and kept as customers come and go.

  rapport segments                      every segment with its member count
  rapport segments tag:vip              one segment's count
  rapport segments tag:vip --members    and its members' ids, in id order

Options:
  --members             list the segment's members (customer ids)
  --limit <n>           list at most n members (1 to 1000, default 100)
  --engine <url>        a running engine (default: http://127.0.0.1:$PORT, PORT defaulting to 3000)
  -h, --help            show this help

Exit codes: 0 ok, 1 the engine refused (e.g. a malformed segment id), 2 usage error,
3 could not reach the engine.`,
    load: () => import('./commands/segments'),
  },
];

export const GLOBAL_HELP = `rapport: the marketer's workbench for Rapport journeys

Usage: rapport <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run \`rapport <command> --help\` for a command's options.

Exit codes: 0 ok, 1 validation or business failure, 2 usage error, 3 could not reach the engine.`;
