import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTagRules } from '../../shared/segmentation';
import { addedTags, compileJourney, loadJourney, loadJourneysFromDir, type Journey, type KnownTags } from '../../workflows/journeys';
import { ACTIONS, actionOf } from '../../workflows/journeys/schema';

/**
 * The journey and tag-rule reference (workflows/journeys/README.md): every YAML
 * example in it is valid as written, and there is one for every step type.
 * Whole journeys load as they are; single steps are loaded inside a journey
 * started by `Signed Up` (or `Complaint Filed` when they use the trigger's
 * properties); `tags:` blocks load as tags.yaml files. The tags the examples
 * read are checked as `rapport validate` checks them (see `knownTags`).
 */
const ROOT = join(import.meta.dirname, '..', '..');
const README = join(ROOT, 'workflows', 'journeys', 'README.md');
const templates = readdirSync(join(ROOT, 'workflows', 'templates')).map((f) => f.replace(/\.liquid$/, ''));
const webhookTargets = ['support', 'supervisor'];

/** The YAML examples: whole journeys (`id:`), steps (`- id:`) and tag rules (`tags:`); not the one-line schema hint. */
const blocks = [...readFileSync(README, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => ({ n: i + 1, text: m[1]! })).filter((b) => /^(id:|- id:|tags:)/.test(b.text));

/**
 * The tags the examples may read, as `rapport validate` checks them: the shipped
 * rules and the README's tag-rule examples, their declared manual tags, and the
 * tags the built-in journeys and the examples add.
 */
function knownTags(): KnownTags {
  const files = [readFileSync(join(ROOT, 'workflows', 'tags.yaml'), 'utf8'), ...blocks.filter((b) => b.text.startsWith('tags:')).map((b) => b.text)];
  const loaded = files.map((text) => loadTagRules(text, 'tags.yaml')).flatMap((r) => (r.ok ? [r] : []));
  const builtIn = loadJourneysFromDir(join(ROOT, 'workflows', 'journeys.d'), join(ROOT, 'workflows', 'templates'), { webhookTargets }).journeys.map((j) => j.journey);
  const examples = blocks.filter((b) => !b.text.startsWith('tags:')).map((b) => loadJourney(asJourney(b.text), 'example.yaml', { templates, webhookTargets }));
  return {
    rules: loaded.flatMap((r) => r.rules.map((rule) => rule.name)),
    manual: loaded.flatMap((r) => r.manualTags.map((m) => m.name)),
    added: [...builtIn, ...examples.flatMap((r) => (r.ok ? [r.journey] : []))].flatMap(addedTags),
  };
}

function asJourney(text: string): string {
  if (!text.startsWith('- id:')) return text;
  const trigger = text.includes('{{ trigger.') ? 'Complaint Filed' : 'Signed Up';
  return `id: example\nname: Example\nversion: 1\ntrigger: { event: ${trigger} }\nsteps:\n${text.replace(/^/gm, '  ')}`;
}

describe('workflows/journeys/README.md', () => {
  const journeys: Journey[] = [];
  const tags = knownTags();

  it('has journey, step and tag-rule examples', () => {
    expect(blocks.filter((b) => b.text.startsWith('id:')).length).toBeGreaterThanOrEqual(2);
    expect(blocks.filter((b) => b.text.startsWith('- id:')).length).toBeGreaterThanOrEqual(ACTIONS.length);
    expect(blocks.filter((b) => b.text.startsWith('tags:')).length).toBeGreaterThanOrEqual(2);
  });

  it.each(blocks.filter((b) => !b.text.startsWith('tags:')).map((b) => [b.n, b.text.split('\n')[0]!, b.text] as const))('example %i (%s) loads and compiles', (n, _first, text) => {
    const result = loadJourney(asJourney(text), `README.md example ${n}`, { templates, webhookTargets, tags });
    expect(result.ok ? 'ok' : result.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`)).toBe('ok');
    if (!result.ok) return;
    const compiled = compileJourney(result.journey, { stepFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:steps', templates, webhookTargets });
    expect(Object.keys((compiled.definition as unknown as { States: object }).States).length).toBeGreaterThan(0);
    journeys.push(result.journey);
  });

  it.each(blocks.filter((b) => b.text.startsWith('tags:')).map((b) => [b.n, b.text] as const))('tag-rule example %i loads', (n, text) => {
    const result = loadTagRules(text, `README.md example ${n}`);
    expect(result.ok ? result.rules.length : result.errors).toBe((text.match(/^ {2}- name:/gm) ?? []).length);
  });

  it('shows every step type', () => {
    expect(journeys.length).toBe(blocks.filter((b) => !b.text.startsWith('tags:')).length);
    const shown = new Set(journeys.flatMap((j) => j.steps.map(actionOf)));
    expect([...ACTIONS].filter((a) => !shown.has(a))).toEqual([]);
    // And the journey-level keys: audience, entry, send_policy, goals, exits.
    const keys = new Set(journeys.flatMap((j) => Object.keys(j)));
    for (const key of ['audience', 'entry', 'send_policy', 'goals', 'exits']) expect(keys.has(key)).toBe(true);
  });
});
