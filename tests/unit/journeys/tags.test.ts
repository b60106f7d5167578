import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JourneyError, loadJourney, loadJourneysFromDir, type JourneyProblem, type KnownTags } from '../../../workflows/journeys';
import { TEMPLATES } from './helpers';

/**
 * The meaning pass checks every tag a journey reads (a Tag Added / Tag Removed
 * pattern, audience.tags, a branch's tag condition, a tag: { remove } step)
 * against the tags that can exist: the tag rules, tags journeys add, and the
 * manual tags declared in tags.yaml. A misspelt tag would otherwise never match.
 */

const TAGS: KnownTags = { rules: ['vip', 'browsing-without-buying'], manual: ['crm-gold'], added: ['churned'] };

const journey = (body: string, trigger = '{ event: Signed Up }') => `id: test
name: Test
version: 1
trigger: ${trigger}
${body}`;

const STEP = 'steps:\n  - id: hello\n    send: { channel: email, template: hello }\n';

function problems(text: string, tags: KnownTags | null = TAGS): JourneyProblem[] {
  const result = loadJourney(text, 'test.yaml', { templates: TEMPLATES, webhookTargets: ['support'], ...(tags && { tags }) });
  return result.ok ? [] : result.errors;
}

const printed = (text: string, tags: KnownTags | null = TAGS) => problems(text, tags).map((p) => `${p.line}:${p.column} ${p.path}: ${p.message}`);

/** `line:column` (1-based) where the `nth` `needle` starts in `text`. */
function pos(text: string, needle: string, nth = 1): string {
  let index = -1;
  for (let i = 0; i < nth; i++) index = text.indexOf(needle, index + 1);
  if (index === -1) throw new Error(`${needle} not in text`);
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

const EXPECTED = 'expected a tag rule in tags.yaml (vip, browsing-without-buying), a tag a journey adds with tag: { add } (churned) or a manual tag declared under manualTags in tags.yaml (crm-gold)';

describe('meaning pass: the tags a journey reads', () => {
  it('refuses a misspelt tag in a Tag Added trigger, at its position, with a suggestion', () => {
    const text = journey(STEP, '{ event: Tag Added, where: { tag: [browsing-withot-buying] } }');
    expect(printed(text)).toEqual([`${pos(text, 'browsing-withot')} trigger.where.tag[0]: unknown tag "browsing-withot-buying" (did you mean "browsing-without-buying"?): ${EXPECTED}`]);
  });

  it('refuses unknown tags in audience include and exclude', () => {
    const text = journey(`audience:\n  tags: { include: [vipp], exclude: [crm-gold, nobody] }\n${STEP}`);
    expect(printed(text)).toEqual([
      `${pos(text, 'vipp')} audience.tags.include[0]: unknown tag "vipp" (did you mean "vip"?): ${EXPECTED}`,
      `${pos(text, 'nobody')} audience.tags.exclude[1]: unknown tag "nobody": ${EXPECTED}`,
    ]);
  });

  it('refuses unknown tags in branch conditions, at any depth, and in Tag Added event conditions', () => {
    const text = journey(`steps:
  - id: pick
    branch:
      - when: { tag: no-such-tag }
        next: hello
      - when: { tag: [vip, crm-golden] }
        next: hello
      - when:
          any:
            - { not: { tag: churnd } }
            - { event: Tag Removed, where: { tag: [viip] }, within: 7d }
        next: hello
      - else: end
  - id: hello
    send: { channel: email, template: hello }
`);
    expect(printed(text)).toEqual([
      `${pos(text, 'no-such-tag')} steps[0].branch[0].when.tag: unknown tag "no-such-tag": ${EXPECTED}`,
      `${pos(text, 'crm-golden')} steps[0].branch[1].when.tag[1]: unknown tag "crm-golden" (did you mean "crm-gold"?): ${EXPECTED}`,
      `${pos(text, 'churnd')} steps[0].branch[2].when.any[0].not.tag: unknown tag "churnd" (did you mean "churned"?): ${EXPECTED}`,
      `${pos(text, 'viip')} steps[0].branch[2].when.any[1].where.tag[0]: unknown tag "viip" (did you mean "vip"?): ${EXPECTED}`,
    ]);
  });

  it('refuses unknown tags in goals, exits, wait_for (under $or too) and tag: { remove }', () => {
    const text = journey(`goals: [{ event: Tag Added, where: { tag: [vip-customer] } }]
exits: [{ event: Tag Removed, where: { $or: [{ tag: [vip] }, { tag: [gone] }] } }]
steps:
  - id: await
    wait_for: { event: Tag Added, where: { tag: [crm-gld] }, timeout: 7d }
  - id: untag
    tag: { remove: vipp }
`);
    expect(problems(text).map((p) => p.path)).toEqual(['goals[0].where.tag[0]', 'exits[0].where.$or[1].tag[0]', 'steps[0].wait_for.where.tag[0]', 'steps[1].tag.remove']);
  });

  it('accepts tag rules, declared manual tags, tags another journey adds and tags this journey adds', () => {
    const text = journey(
      `audience:\n  tags: { include: [vip, crm-gold], exclude: [churned] }
steps:
  - id: mark
    tag: { add: contacted }
  - id: pick
    branch:
      - when: { all: [{ tag: contacted }, { event: Tag Added, where: { tag: [vip] } }] }
        next: end
      - else: unmark
  - id: unmark
    tag: { remove: contacted }
`,
      '{ event: Tag Added, where: { tag: [browsing-without-buying] } }',
    );
    expect(printed(text)).toEqual([]);
  });

  it('leaves other events and other properties alone: only the tag of Tag Added / Tag Removed is a tag', () => {
    const text = journey(`goals: [{ event: Order Completed, where: { tag: [whatever] } }]\n${STEP}`, '{ event: Tag Added, where: { source: [crm] } }');
    expect(printed(text)).toEqual([]);
  });

  it('does not check tags when no tags are given (one journey on its own, the compiler)', () => {
    const text = journey(`audience:\n  tags: { include: [vipp] }\n${STEP}`, '{ event: Tag Added, where: { tag: [anything] } }');
    expect(problems(text, null)).toEqual([]);
  });

  it('with no manual tags declared, says so', () => {
    const text = journey(`audience:\n  tags: { include: [vipp] }\n${STEP}`);
    expect(printed(text, { rules: ['vip'], manual: [] })).toEqual([
      `${pos(text, 'vipp')} audience.tags.include[0]: unknown tag "vipp" (did you mean "vip"?): expected a tag rule in tags.yaml (vip), a tag a journey adds with tag: { add } (none) or a manual tag declared under manualTags in tags.yaml (none)`,
    ]);
  });
});

describe('meaning pass: a missing template names the real templates folder', () => {
  it('names the folder it was given', () => {
    const text = journey('steps:\n  - id: hello\n    send: { channel: email, template: helo }\n');
    const result = loadJourney(text, 'test.yaml', { templates: TEMPLATES, templatesDir: 'elsewhere/tpl' });
    expect(result.ok ? [] : result.errors.map((e) => e.message)).toEqual(['no email template "helo": expected a file elsewhere/tpl/helo.email.liquid (email templates: hello, offer)']);
  });
});

describe('loadJourneysFromDir with tags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journey-tags-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const journeys = join(dir, 'journeys.d');
  const templates = join(dir, 'templates');

  it('counts the tags any journey in the folder adds, and refuses a tag nothing can produce', () => {
    mkdirSync(journeys, { recursive: true });
    mkdirSync(templates, { recursive: true });
    writeFileSync(join(templates, 'hello.email.liquid'), 'Subject: Hello\n\nHello.\n');
    writeFileSync(join(journeys, 'adder.yaml'), 'id: adder\nname: Adder\nversion: 1\ntrigger: { event: Signed Up }\nsteps:\n  - id: mark\n    tag: { add: signed-up-recently }\n');
    writeFileSync(
      join(journeys, 'reader.yaml'),
      'id: reader\nname: Reader\nversion: 1\ntrigger: { event: Tag Added, where: { tag: [signed-up-recently] } }\nsteps:\n  - id: hello\n    send: { channel: email, template: hello }\n',
    );
    const tags = { rules: ['vip'], manual: [] };
    expect(loadJourneysFromDir(journeys, templates, { tags }).journeys.map((j) => j.journey.id)).toEqual(['adder', 'reader']);

    const typo = 'id: typo\nname: Typo\nversion: 1\ntrigger: { event: Tag Added, where: { tag: [signed-up-recentl] } }\nsteps:\n  - id: hello\n    send: { channel: email, template: hello }\n';
    writeFileSync(join(journeys, 'typo.yaml'), typo);
    let error: unknown;
    try {
      loadJourneysFromDir(journeys, templates, { tags });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(JourneyError);
    expect((error as JourneyError).errors).toEqual([
      {
        file: join(journeys, 'typo.yaml'),
        line: 4,
        column: typo.split('\n')[3]!.indexOf('signed') + 1,
        path: 'trigger.where.tag[0]',
        message:
          'unknown tag "signed-up-recentl" (did you mean "signed-up-recently"?): expected a tag rule in tags.yaml (vip), a tag a journey adds with tag: { add } (signed-up-recently) or a manual tag declared under manualTags in tags.yaml (none)',
      },
    ]);
    // Without tags, the folder loads as before.
    expect(loadJourneysFromDir(journeys, templates).journeys).toHaveLength(3);
  });
});
