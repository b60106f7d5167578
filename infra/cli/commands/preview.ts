/**
 * `rapport preview <template | journey:step>`: the message as it would go out to one customer, rendered by the
 * gateway's own code (`renderMessage`): the locale variant chosen, the address, subject, text, HTML and headers
 * (List-Unsubscribe for marketing). The customer comes from a running engine (`--customer`) or a file (`--profile`);
 * the templates from the workflows folder (`--config`), as the engine started there reads them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { DEV_UNSUBSCRIBE_KEY, liquidTemplates, readTemplates, renderMessage, staticUnsubscribeKeys, type RenderedMessage, type RenderRequest } from '../../../functions/journeys';
import { profileFromView } from '../../../functions/journeys/render';
import { stepTemplateData } from '../../../functions/journeys/steps';
import { CHANNEL_ADDRESS_TRAIT, channelSpec, isMessageChannel, customerLocale, ENV, MESSAGE_CHANNELS, orList, templateKey, type Profile, type Recommendations } from '../../../shared';
import type { Parsed, Values } from '../commands';
import { call, engineBase, Exit } from '../engine-client';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';
import { findJourneyFile, loadOneJourney, workflowsOf, type Workflows } from '../workflows';
import { devCredential } from './send';

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  const w = workflowsOf(values, ctx);
  const target = targetOf(positionals[0]!, values, w, ctx);
  const engine = engineBase(values, ctx, 'preview');
  const profile = await profileOf(values, ctx, engine);
  if (profile instanceof Exit) return profile.code;
  const keys = unsubscribeKeysOf(ctx);
  const address = profile.traits[CHANNEL_ADDRESS_TRAIT[target.channel]];
  const to = typeof address === 'string' && address !== '' ? address : '';
  const recommendations = recommendationsOf(profile, values);
  const rendered = await renderMessage(
    { templates: liquidTemplates(readTemplates(w.templatesDir)), unsubscribe: { baseUrl: engine.origin, keys: staticUnsubscribeKeys(keys.value) }, recommendations: async () => recommendations },
    { ...target, customerId: profile.id },
    profile,
    to,
  );
  const file = `${templateKey(target.template, target.channel, rendered.locale)}.liquid`;
  if (values.json === true) {
    ctx.out(JSON.stringify({ customerId: profile.id, channel: rendered.channel, template: target.template, locale: rendered.locale ?? null, file, message: rendered.message }, null, 2));
    return EXIT.ok;
  }
  printPreview(ctx, { target, profile, rendered, file, keysFrom: keys.from });
  return EXIT.ok;
}

type Target = Omit<RenderRequest, 'customerId'>;

/** `welcome` (a template: --channel, else the channel its files say) or `welcome:send-welcome` (a journey's send step). */
function targetOf(ref: string, values: Values, w: Workflows, ctx: Context): Target {
  const trigger = jsonOption(values.trigger, '--trigger', 'a JSON object of trigger properties, e.g. \'{"orderId":"o-1"}\'');
  const step = /^([^:]+):([^:]+)$/.exec(ref);
  if (step) {
    const { journey } = loadOneJourney(findJourneyFile(step[1]!, w, ctx), w, ctx);
    const found = journey.steps.find((s) => s.id === step[2]);
    if (!found) throw new UsageError(`journey "${journey.id}" has no step "${step[2]}": its steps are ${journey.steps.map((s) => s.id).join(', ')}`);
    if (!('send' in found) || !isMessageChannel(found.send.channel)) throw new UsageError(`step "${found.id}" of journey "${journey.id}" sends no ${orList(MESSAGE_CHANNELS.map((c) => channelSpec(c).label))}: preview renders those`);
    const input = { journeyId: journey.id, stepId: found.id, execution: 'preview', trigger: { messageId: 'preview', event: journey.trigger.event, properties: trigger ?? {} } };
    return { journeyId: journey.id, stepId: found.id, executionName: 'preview', channel: found.send.channel, template: found.send.template, kind: found.send.kind ?? 'marketing', data: stepTemplateData(input) };
  }
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(ref)) throw new UsageError(`expected a template name (welcome) or a journey's step (welcome:send-welcome), got ${JSON.stringify(ref)}`);
  const sources = readTemplates(w.templatesDir);
  const channels = MESSAGE_CHANNELS.filter((c) => templateKey(ref, c) in sources);
  const channel = values.channel === undefined ? channels[0] : MESSAGE_CHANNELS.find((c) => c === values.channel);
  if (values.channel !== undefined && channel === undefined) throw new UsageError(`--channel: expected ${orList(MESSAGE_CHANNELS)}, got ${JSON.stringify(values.channel)}`);
  if (channel === undefined || !channels.includes(channel)) {
    throw new UsageError(`no ${values.channel === undefined ? orList(MESSAGE_CHANNELS.map((c) => channelSpec(c).label)) : String(values.channel)} template "${ref}" in ${w.show(w.templatesDir)}: expected ${orList(MESSAGE_CHANNELS.map((c) => `${ref}.${c}.liquid`))}`);
  }
  if (values.channel === undefined && channels.length > 1) {
    const labels = channels.map((c) => `${/^(?:[aeiou]|[FHLMNRSX][A-Z])/.test(channelSpec(c).label) ? 'an' : 'a'} ${channelSpec(c).label}`);
    throw new UsageError(`"${ref}" is ${labels.slice(0, -1).join(', ')} and ${labels.at(-1)} template: say which with ${orList(channels.map((c) => `--channel ${c}`))}`);
  }
  const kind = values.kind === undefined ? 'marketing' : values.kind === 'marketing' || values.kind === 'transactional' ? values.kind : undefined;
  if (kind === undefined) throw new UsageError(`--kind: expected marketing or transactional, got ${JSON.stringify(values.kind)}`);
  return { journeyId: 'preview', stepId: ref, executionName: 'preview', channel, template: ref, kind, data: trigger === undefined ? {} : { trigger } };
}

/** The customer: from `--profile <file.json>`, else `--customer <id>` on the engine; `--locale` sets their locale trait. */
async function profileOf(values: Values, ctx: Context, engine: URL): Promise<Profile | Exit> {
  if ((values.profile === undefined) === (values.customer === undefined)) throw new UsageError('expected one of --customer <id> (from a running engine) or --profile <file.json>');
  let view: Record<string, unknown>;
  if (typeof values.profile === 'string') {
    const file = resolve(ctx.cwd, values.profile);
    if (!existsSync(file)) throw new UsageError(`--profile: no file ${values.profile}`);
    const parsed = jsonOption(readFileSync(file, 'utf8'), `--profile ${values.profile}`, 'a customer as GET /v1/customers/{id} answers it, or at least {"id": "c1", "traits": {"email": "..."}}');
    if (parsed === undefined) throw new UsageError(`--profile ${values.profile}: empty`);
    view = parsed;
  } else {
    const answer = await call(ctx, new URL(`v1/customers/${encodeURIComponent(String(values.customer))}`, engine), undefined);
    if (answer instanceof Exit) return answer;
    view = answer as Record<string, unknown>;
  }
  const profile = profileFromView(view as Parameters<typeof profileFromView>[0], typeof values.customer === 'string' ? values.customer : basename(String(values.profile)).replace(/\.json$/, ''));
  return typeof values.locale === 'string' ? { ...profile, traits: { ...profile.traits, locale: values.locale } } : profile;
}

/**
 * What the template gets as `recommendations`: a profile file's `recommendations` (`{ "categories": ["coffee-table"],
 * "products": [] }`: the engine computes them at send time from its counts, which a file cannot), else none.
 */
function recommendationsOf(profile: Profile, values: Values): Recommendations {
  const given = (profile as { recommendations?: unknown }).recommendations;
  if (given === undefined) return { categories: [], products: [] };
  const expected = '{ "categories": ["coffee-table"], "products": ["p-12"] } (lists of names, either may be left out)';
  if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new UsageError(`--profile ${String(values.profile)}: recommendations: expected ${expected}`);
  const list = (key: 'categories' | 'products'): string[] => {
    const value = (given as Record<string, unknown>)[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new UsageError(`--profile ${String(values.profile)}: recommendations.${key}: expected a list of names, got ${JSON.stringify(value)}`);
    return value as string[];
  };
  return { categories: list('categories'), products: list('products') };
}

function jsonOption(text: unknown, what: string, expected: string): Record<string, unknown> | undefined {
  if (typeof text !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what}: not JSON (${(error as Error).message}); expected ${expected}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${what}: expected ${expected}`);
  return parsed as Record<string, unknown>;
}

/** The keys the engine signs unsubscribe links with: $RAPPORT_UNSUBSCRIBE_SECRET, else the data folder's, else the development key. */
function unsubscribeKeysOf(ctx: Context): { value: string; from: string } {
  const fromEnv = ctx.env[ENV.UNSUBSCRIBE_SECRET];
  if (fromEnv) return { value: fromEnv, from: ENV.UNSUBSCRIBE_SECRET };
  return devCredential(ctx, 'unsubscribeSecret') ?? { value: DEV_UNSUBSCRIBE_KEY, from: 'the development key (no engine data folder found)' };
}

function printPreview(ctx: Context, p: { target: Target; profile: Profile; rendered: RenderedMessage; file: string; keysFrom: string }): void {
  const { target, profile, rendered } = p;
  const asked = customerLocale(profile);
  const locale =
    rendered.locale !== undefined ? `${rendered.locale} (${p.file})` : `default (${p.file}${asked === undefined ? '; the customer has no locale trait' : `; no variant for "${asked}"`})`;
  ctx.out(`Preview of ${target.template} (${target.channel}${target.kind === 'transactional' ? ', transactional' : ''}) for customer ${profile.id}${target.journeyId === 'preview' ? '' : `, journey ${target.journeyId} step ${target.stepId}`}`);
  ctx.out(`Locale: ${locale}`);
  const to = rendered.message.to === '' ? `(none: the customer has no ${CHANNEL_ADDRESS_TRAIT[target.channel]} trait, a send would be skipped)` : rendered.message.to;
  ctx.out(`To: ${to}`);
  if (rendered.channel === 'email') {
    ctx.out(`Subject: ${rendered.message.subject}`);
    for (const [name, value] of Object.entries(rendered.message.headers)) ctx.out(`${name}: ${value}`);
    ctx.out();
    ctx.out('--- text ---');
    ctx.out(rendered.message.text);
    if (rendered.message.html !== undefined) {
      ctx.out('--- html ---');
      ctx.out(rendered.message.html);
    }
  } else if (rendered.channel === 'push') {
    // As the template writes it: the title, the app's data (if any), then the text.
    ctx.out(`Title: ${rendered.message.title}`);
    if (rendered.message.data !== undefined) ctx.out(`Data: ${JSON.stringify(rendered.message.data)}`);
    ctx.out();
    ctx.out(rendered.message.body);
  } else if ('body' in rendered.message) {
    ctx.out();
    ctx.out(rendered.message.body);
  } else {
    // A message of parts (WhatsApp): each part on its line.
    ctx.out();
    ctx.out(JSON.stringify(rendered.message, (key, value: unknown) => (key === 'tags' || key === 'to' ? undefined : value), 2));
  }
  ctx.err(`preview: unsubscribe links signed with ${p.keysFrom}`);
}
