/**
 * Template variables, checked against what a journey's run can give them: a
 * template that reads `trigger.complaintId` in a journey started by
 * `Order Completed` would render nothing (or fail as JSON) at run time, so
 * `rapport validate` (and the engine, `cdk synth`) refuses it, at the
 * variable's line and column in the template file.
 *
 * What a template may read (the step runtime's render context, functions/journeys/steps.ts):
 * - `profile`: the fields of `templateProfile` (shared/templates); below
 *   `traits` and `stats`, anything (traits are the sender's);
 * - `trigger.<property>`: a scalar property the trigger event carries (a run
 *   carries no lists or objects) — for an event Rapport knows, a property of its schema (shared/contract/known-events.ts)
 *   or of the derived event (the default tracking plan's properties for the others), or one the trigger's `where` names; for a custom
 *   event any property (Rapport does not know its properties). An unknown
 *   property of a known event is allowed when its output has a fallback,
 *   `{{ trigger.coupon | default: "none" }}`: known events may carry more;
 * - `triggerEvent` (`messageId`, `event`), `customer` (`id`), `journey`
 *   (`id`, `step`, `execution`), and `unsubscribe_url`, `preferences_url` and `recommendations` (`categories`,
 *   `products`: what customers bought after what this one bought, functions/profile/co-purchases.ts) in email and SMS.
 * Names a template assigns itself (`assign`, `capture`, `for`) are its own.
 */
import { Liquid, type Variable } from 'liquidjs';
import { channelSpec, DERIVED_EVENTS, knownEventProperties, TEMPLATE_PROFILE_FIELDS, type TemplateChannel } from '../../shared';
import type { JourneyProblem } from './errors';
import type { Journey } from './schema';
import { templateVariantKeys, type TemplateCatalog } from './templates';

/** What a name holds: its known fields, or `true` when anything below it is accepted. */
type Fields = { readonly [name: string]: Fields } | true;

/** Properties of the events Rapport derives (functions/profile/consumer.ts `diff`), besides `customerId`. */
const DERIVED_EVENT_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  [DERIVED_EVENTS.TAG_ADDED]: ['tag'],
  [DERIVED_EVENTS.TAG_REMOVED]: ['tag'],
  [DERIVED_EVENTS.LIFECYCLE_STAGE_CHANGED]: ['from', 'to'],
  [DERIVED_EVENTS.CUSTOMER_BECAME_INACTIVE]: ['stage', 'lastOrderAt'],
};

const leaves = (names: readonly string[]): { readonly [name: string]: Fields } => Object.fromEntries(names.map((n) => [n, true]));

const PROFILE: Fields = {
  ...leaves(TEMPLATE_PROFILE_FIELDS),
  rfm: leaves(['recency', 'frequency', 'monetary', 'tier']),
};

/** Properties of a known event that are lists or objects: a run carries only the trigger's scalar properties (functions/journeys/runtime.ts). */
export function structuredTriggerProperties(event: string): string[] {
  return (knownEventProperties(event) ?? []).filter((p) => p.structured).map((p) => p.name);
}

/** The properties the journey's trigger carries for sure, or `true` for a custom event (unknown). */
export function triggerFields(journey: Pick<Journey, 'trigger'>): { fields: Fields; known: boolean } {
  const { event, where } = journey.trigger;
  const named = where === undefined ? [] : Object.keys(where).filter((k) => k !== '$or');
  const known = knownEventProperties(event);
  if (known) {
    const structured = new Set(structuredTriggerProperties(event));
    return { fields: leaves([...known.filter((p) => !p.structured).map((p) => p.name), ...named.filter((n) => !structured.has(n))]), known: true };
  }
  const derived = DERIVED_EVENT_PROPERTIES[event];
  if (derived !== undefined) return { fields: leaves(['customerId', ...derived, ...named]), known: true };
  return { fields: true, known: false };
}

function contextFields(journey: Pick<Journey, 'trigger'>, channel: TemplateChannel): Fields {
  return {
    profile: PROFILE,
    customer: leaves(['id']),
    trigger: triggerFields(journey).fields,
    triggerEvent: leaves(['messageId', 'event']),
    journey: leaves(['id', 'step', 'execution']),
    ...(channelSpec(channel).audience === 'customer' && { unsubscribe_url: true, preferences_url: true, recommendations: leaves(['categories', 'products']) }),
  };
}

const liquid = new Liquid({ strictFilters: true });

const available = (fields: Fields) => (fields === true ? '' : Object.keys(fields).join(', ') || '(none)');

/**
 * The variables of one template that the journey's runs cannot give it, as
 * problems at their place in `file`. `source` must parse (checkTemplate reports it otherwise).
 */
export function templateVariableProblems(journey: Pick<Journey, 'id' | 'trigger'>, channel: TemplateChannel, file: string, source: string): JourneyProblem[] {
  let globals: Record<string, Variable[]>;
  try {
    globals = liquid.analyzeSync(liquid.parse(source), { partials: false }).globals;
  } catch {
    return [];
  }
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const context = contextFields(journey, channel);
  const { event } = journey.trigger;
  const problems: JourneyProblem[] = [];
  for (const variable of Object.values(globals).flat()) {
    let fields: Fields = context;
    const path: string[] = [];
    for (const segment of variable.segments) {
      if (fields === true || typeof segment !== 'string') break;
      if (Object.hasOwn(fields, segment)) {
        fields = fields[segment]!;
        path.push(segment);
        continue;
      }
      const name = [...path, segment].join('.');
      const under = path.length === 0 ? 'a template' : path.join('.');
      if (path.length === 1 && path[0] === 'trigger' && structuredTriggerProperties(event).includes(segment)) {
        problems.push(problem(variable, `"${name}" is a list or an object: a run carries only the trigger's scalar properties (text, number, true/false) of "${event}": ${available(fields)}`));
      } else if (path.length === 1 && path[0] === 'trigger') {
        if (hasDefault(lines, variable)) break;
        problems.push(problem(variable, `unknown variable "${name}": journey "${journey.id}" starts with "${event}", whose properties are ${available(fields)}; name a property it carries, add it to the trigger's where, or give a fallback: {{ ${name} | default: "..." }}`));
      } else {
        problems.push(problem(variable, `unknown variable "${name}" (journey "${journey.id}"): ${under} has ${available(fields)}`));
      }
      break;
    }
  }
  return problems;

  function problem(variable: Variable, message: string): JourneyProblem {
    return { file, line: variable.location.row, column: variable.location.col, path: '(template)', message };
  }
}

/** `{{ trigger.x | default: ... }}`: the output right after the variable falls back to a value. */
function hasDefault(lines: readonly string[], variable: Variable): boolean {
  const rest = lines[variable.location.row - 1]?.slice(variable.location.col - 1) ?? '';
  return new RegExp(`^${variable.toString().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\|\\s*default\\s*:`).test(rest);
}

/** Each template a journey's steps render, as `{ template, channel }`. */
export function journeyTemplates(journey: Pick<Journey, 'steps'>): Array<{ template: string; channel: TemplateChannel }> {
  return journey.steps.flatMap((s) =>
    'send' in s
      ? [
          { template: s.send.template, channel: s.send.channel as TemplateChannel },
          ...(s.send.fallback !== undefined ? [{ template: s.send.template, channel: s.send.fallback as TemplateChannel }] : []),
          ...(s.send.variants ?? []).map((v) => ({ template: v.template ?? s.send.template, channel: (v.channel ?? s.send.channel) as TemplateChannel })),
        ]
      : 'webhook' in s
        ? [{ template: s.webhook.template, channel: 'webhook' as const }]
        : [],
  );
}

/**
 * The unknown variables of every template the journey renders (each checked once), located in the template files:
 * its locale variants too, which may read only what the journey gives the default file.
 */
export function journeyTemplateProblems(journey: Pick<Journey, 'id' | 'trigger' | 'steps'>, catalog: TemplateCatalog): JourneyProblem[] {
  const seen = new Set<string>();
  const problems: JourneyProblem[] = [];
  for (const { template, channel } of journeyTemplates(journey)) {
    for (const key of templateVariantKeys(catalog, template, channel)) {
      const source = catalog.templateSources?.[key];
      const file = catalog.templateFiles?.[key];
      if (seen.has(key) || source === undefined || file === undefined) continue;
      seen.add(key);
      problems.push(...templateVariableProblems(journey, channel, file, source));
    }
  }
  return problems;
}
