import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatProblem,
  loadTagRules,
  loadTagRulesOrThrow,
  SEGMENTATION_FILES,
  TagRulesError,
  type TagRulesResult,
} from '../../../shared/segmentation';

const FILE = 'tags.yaml';
const shipped = readFileSync(fileURLToPath(new URL(`../../../workflows/${SEGMENTATION_FILES.tags}`, import.meta.url)), 'utf8');

/** The file's problems as printed: `tags.yaml:7:15  path: message`. */
function errorsOf(text: string): string[] {
  const result = loadTagRules(text, FILE);
  if (result.ok) throw new Error(`expected ${FILE} to fail, it loaded ${result.rules.length} rules`);
  return result.errors.map(formatProblem);
}

function warningsOf(result: TagRulesResult): string[] {
  return result.warnings.map(formatProblem);
}

/** A file with one rule whose `when` is the given flow mapping (the rule's `when` value starts on line 3, column 11). */
const oneRule = (when: string) => `tags:\n  - name: t\n    when: ${when}\n`;

describe('loadTagRules: valid files', () => {
  it('loads the shipped workflows/tags.yaml with no errors and no warnings', () => {
    const result = loadTagRules(shipped, FILE);
    expect(result).toMatchObject({ ok: true, warnings: [] });
    if (!result.ok) return;
    expect(result.rules.map((r) => r.name)).toContain('complained-and-quiet');
    expect(new Set(result.rules.map((r) => r.name)).size).toBe(result.rules.length);
  });

  it('parses the example of the language into a typed condition tree', () => {
    const rules = loadTagRulesOrThrow(
      [
        'tags:',
        '  - name: complained-and-quiet',
        '    description: Filed a complaint in the last 30 days and has not ordered since',
        '    when:',
        '      all:',
        '        - { event: Complaint Filed, within: 30d }',
        '        - { no_event: Order Completed, since: Complaint Filed }',
        '  - name: browsing-baby-gear',
        '    when: { event: Product Viewed, where: { category: [baby] }, within: 7d, at_least: 3 }',
        '  - name: loyal-or-new',
        '    when: { lifecycle: [loyal, new] }',
        '  - name: only-loyal',
        '    when: { lifecycle: loyal }',
      ].join('\n'),
      FILE,
    );
    expect(rules).toEqual([
      {
        name: 'complained-and-quiet',
        description: 'Filed a complaint in the last 30 days and has not ordered since',
        when: {
          kind: 'all',
          all: [
            { kind: 'event', event: 'Complaint Filed', within: '30d' },
            { kind: 'no_event', no_event: 'Order Completed', since: 'Complaint Filed' },
          ],
        },
      },
      {
        name: 'browsing-baby-gear',
        when: { kind: 'event', event: 'Product Viewed', where: { category: ['baby'] }, within: '7d', at_least: 3 },
      },
      { name: 'loyal-or-new', when: { kind: 'lifecycle', lifecycle: ['loyal', 'new'] } },
      { name: 'only-loyal', when: { kind: 'lifecycle', lifecycle: ['loyal'] } },
    ]);
  });

  it('accepts an empty list of tags (on purpose, unlike an empty file)', () => {
    expect(loadTagRules('tags: []\n', FILE)).toEqual({ ok: true, rules: [], manualTags: [], warnings: [] });
    expect(errorsOf('')).toEqual(['tags.yaml:1:1  (root): expected a mapping with a "tags" list, got an empty value']);
  });
});

describe('loadTagRules: errors point at file:line:col with what was expected', () => {
  it('a bad duration', () => {
    const text = [
      'tags:',
      '  - name: vip',
      '    when: { stat: totalRevenue, gte: 1000 }',
      '  - name: complained-and-quiet',
      '    when:',
      '      all:',
      '        - { event: Complaint Filed, within: 30 days }',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'tags.yaml:7:45  tags[1].when.all[0].within: expected a duration like "30d", "12h", "2w" or "3mo" (a month is 30 days), got "30 days"',
    ]);
  });

  it('a tag condition: refused in a tag rule, with where and why', () => {
    const errors = errorsOf(oneRule('{ tag: vip }'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^tags\.yaml:3:\d+ {2}tags\[0\]\.when\.tag: a tag rule cannot test a tag/);
  });

  it('a recommendations condition: refused in a tag rule (computed at send time), a bad list named', () => {
    const errors = errorsOf(oneRule('{ recommendations: categories, contains: coffee-table }'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^tags\.yaml:3:\d+ {2}tags\[0\]\.when\.recommendations: a tag rule cannot test recommendations/);
    expect(errorsOf(oneRule('{ recommendations: category, contains: sofa }'))).toEqual([
      'tags.yaml:3:30  tags[0].when.recommendations: expected a list of recommendations: one of categories, products, got "category"',
    ]);
  });

  it('an unknown stat, with a suggestion', () => {
    expect(errorsOf(oneRule('{ stat: totlRevenue, gte: 1 }'))).toEqual([
      'tags.yaml:3:19  tags[0].when.stat: expected a stat: one of eventCount, orderCount, totalRevenue, averageOrderValue, complaintCount, openComplaints, resolvedComplaints, productsViewed, lastSurveyScore, lastSurveyType (did you mean "totalRevenue"?), got "totlRevenue"',
    ]);
  });

  it('an unknown days_since date, lifecycle stage and rfm field', () => {
    expect(errorsOf(oneRule('{ days_since: lastOrder, gte: 1 }'))[0]).toContain(
      'tags[0].when.days_since: expected a profile date: one of firstSeenAt, lastSeenAt, firstOrderAt, lastOrderAt, lastComplaintAt, lastResolutionAt, lastSurveyAt (did you mean "lastOrderAt"?), got "lastOrder"',
    );
    expect(errorsOf(oneRule('{ lifecycle: [loyal, sleepy] }'))).toEqual([
      'tags.yaml:3:32  tags[0].when.lifecycle[1]: expected a lifecycle stage: one of prospect, new, active, loyal, at-risk, dormant, churned, got "sleepy"',
    ]);
    expect(errorsOf(oneRule('{ lifecycle: atrisk }'))[0]).toContain('(did you mean "at-risk"?), got "atrisk"');
    expect(errorsOf(oneRule('{ rfm: value, eq: 1 }'))[0]).toContain('tags[0].when.rfm: expected an RFM field: one of recency, frequency, monetary, tier');
  });

  it('a duplicate tag name, pointing at the second and naming the first', () => {
    const text = 'tags:\n  - name: vip\n    when: { stat: orderCount, gte: 1 }\n  - name: vip\n    when: { stat: totalRevenue, gte: 1 }\n';
    expect(errorsOf(text)).toEqual(['tags.yaml:4:11  tags[1].name: duplicate tag name "vip"; tags[0] on line 2 already defines it']);
  });

  it('wrong types', () => {
    expect(errorsOf(oneRule('{ event: Order Completed, at_least: three }'))).toEqual([
      'tags.yaml:3:47  tags[0].when.at_least: expected a whole number like 3, got "three"',
    ]);
    expect(errorsOf(oneRule('{ stat: orderCount, gte: "5" }'))).toEqual([
      'tags.yaml:3:36  tags[0].when.gte: expected a count (orderCount) of 0 or more, got "5"',
    ]);
    expect(errorsOf(oneRule('{ all: { stat: orderCount, gte: 1 } }'))).toEqual([
      'tags.yaml:3:18  tags[0].when.all: expected a list of conditions under all, got a mapping',
    ]);
    expect(errorsOf(oneRule('{ not: 3 }'))).toEqual([
      'tags.yaml:3:18  tags[0].when.not: expected a condition (a mapping like { stat: orderCount, gte: 1 }), got 3',
    ]);
    expect(errorsOf('tags:\n  - name: Big_Spender\n    when: { stat: orderCount, gte: 1 }\n')).toEqual([
      'tags.yaml:2:11  tags[0].name: expected a tag name in lowercase kebab-case like "vip" or "at-risk-buyer", got "Big_Spender"',
    ]);
    expect(errorsOf('tags: 3\n')).toEqual(['tags.yaml:1:7  tags: expected a list of tag rules under "tags", got 3']);
  });

  it('unknown keys, each at the key, with the keys that are allowed', () => {
    const text = 'tags:\n  - name: t\n    colour: red\n    when: { event: Order Completed, withn: 3d }\n';
    expect(errorsOf(text)).toEqual([
      'tags.yaml:3:5  tags[0].colour: unknown key "colour"; a tag rule takes name, description, when',
      'tags.yaml:4:37  tags[0].when.withn: unknown key "withn"; did you mean "within"? event conditions take event, where, within, since, at_least, at_most',
    ]);
  });

  it('an unknown or doubled condition kind, and a missing condition or operator', () => {
    expect(errorsOf(oneRule('{ stats: orderCount, gte: 1 }'))).toEqual([
      'tags.yaml:3:13  tags[0].when.stats: unknown condition "stats" (did you mean "stat"?); a condition starts with one of all, any, not, stat, trait, days_since, lifecycle, rfm, event, no_event, tag, recommendations',
    ]);
    expect(errorsOf(oneRule('{ foo: 1 }'))).toEqual([
      'tags.yaml:3:11  tags[0].when: expected a condition with one of the keys all, any, not, stat, trait, days_since, lifecycle, rfm, event, no_event, tag, recommendations, got keys foo',
    ]);
    expect(errorsOf(oneRule('{ stat: orderCount, gte: 1, event: Order Completed }'))).toEqual([
      'tags.yaml:3:39  tags[0].when.event: a condition has exactly one kind, this one has both "stat" and "event"; combine conditions with all: [...] or any: [...]',
    ]);
    expect(errorsOf('tags:\n  - name: t\n')).toEqual(['tags.yaml:2:5  tags[0].when: missing; expected a condition like { stat: orderCount, gte: 1 }']);
    expect(errorsOf(oneRule('{ stat: orderCount }'))).toEqual([
      'tags.yaml:3:11  tags[0].when: expected a comparison: add one of eq, ne, gt, gte, lt, lte, in, exists',
    ]);
    expect(errorsOf(oneRule('{ any: [] }'))).toEqual(['tags.yaml:3:18  tags[0].when.any: expected at least one condition under any, got an empty list']);
  });

  it('meaning: windows beyond the recent events kept, within with since, inconsistent counts, operators that do not fit', () => {
    expect(errorsOf(oneRule('{ event: Order Completed, within: 53w }'))).toEqual([
      'tags.yaml:3:45  tags[0].when.within: expected a window of at most 365d (a profile keeps the events a condition reads at most a year), got "53w"; for older history use days_since',
    ]);
    expect(loadTagRules(oneRule('{ event: Order Completed, within: 12mo }'), FILE).ok).toBe(true);
    expect(errorsOf(oneRule('{ no_event: Order Completed, within: 7d, since: Complaint Filed }'))).toEqual([
      'tags.yaml:3:59  tags[0].when.since: use either within (a time window) or since (after the latest such event), not both',
    ]);
    expect(errorsOf(oneRule('{ event: Order Completed, at_least: 3, at_most: 1 }'))).toEqual([
      'tags.yaml:3:59  tags[0].when.at_most: expected at_most to be at least at_least (3), got 1',
    ]);
    expect(errorsOf(oneRule('{ rfm: tier, gt: potential }'))).toEqual([
      'tags.yaml:3:28  tags[0].when.gt: gt does not apply to a value tier; use eq, ne or in',
    ]);
    expect(errorsOf(oneRule('{ rfm: tier, in: [high-value, sleepy] }'))).toEqual([
      'tags.yaml:3:41  tags[0].when.in[1]: expected a value tier: one of high-value, potential, sleeping, got "sleepy"',
    ]);
    expect(errorsOf(oneRule('{ rfm: recency, gte: 6 }'))).toEqual([
      'tags.yaml:3:32  tags[0].when.gte: expected an RFM score from 1 to 5, got 6',
    ]);
    expect(errorsOf(oneRule('{ days_since: lastOrderAt, gt: 2.5 }'))).toEqual([
      'tags.yaml:3:42  tags[0].when.gt: expected a whole number of days of 0 or more (a whole number), got 2.5',
    ]);
    expect(errorsOf(oneRule('{ event: Tag Added }'))[0]).toContain(
      'tags[0].when.event: "Tag Added" is an event Rapport derives; it never appears among a customer\'s recent events',
    );
  });

  it('an invalid where pattern, at the offending value', () => {
    expect(errorsOf(oneRule('{ event: Product Viewed, where: { category: baby } }'))).toEqual([
      'tags.yaml:3:55  tags[0].when.where.category: must be an array of values (e.g. ["a"] or [{"prefix": "a"}]) or a nested object, got "baby"',
    ]);
    expect(errorsOf(oneRule('{ event: Order Completed, where: { revenue: [{ numeric: [">>", 1] }] } }'))[0]).toMatch(
      /^tags\.yaml:3:56 {2}tags\[0\]\.when\.where\.revenue\[0\]: numeric operator ">>" is not one of/,
    );
  });

  it('YAML syntax errors', () => {
    const [problem, ...rest] = errorsOf('tags:\n  - name: a\n    when: { stat: orderCount, gte: 1\n');
    expect(problem).toMatch(/^tags\.yaml:\d+:\d+ {2}\(yaml\): /);
    expect(rest.every((p) => p.includes('(yaml)'))).toBe(true);
    expect(errorsOf('tags:\n  - name: a\n    name: b\n    when: { stat: orderCount, gte: 1 }\n')).toEqual([
      'tags.yaml:3:5  (yaml): Map keys must be unique',
    ]);
  });

  it('fails as a whole, reporting every broken rule in file order and returning no rules', () => {
    const text = [
      'tags:',
      '  - name: fine',
      '    when: { stat: orderCount, gte: 1 }',
      '  - name: broken-one',
      '    when: { event: Order Completed, within: soon }',
      '  - name: fine-too',
      '    when: { trait: plan, eq: pro }',
      '  - name: broken-two',
      '    when: { stat: orderCount, gte: many }',
    ].join('\n');
    const result = loadTagRules(text, FILE);
    expect(result.ok).toBe(false);
    expect(result).not.toHaveProperty('rules');
    expect(errorsOf(text).map((p) => p.split('  ')[0])).toEqual(['tags.yaml:5:45', 'tags.yaml:9:36']);
  });

  it('throws TagRulesError with the problems attached and a readable message', () => {
    const text = oneRule('{ event: Order Completed, within: 30 days }');
    expect(() => loadTagRulesOrThrow(text, FILE)).toThrow(TagRulesError);
    try {
      loadTagRulesOrThrow(text, FILE);
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      const e = error as TagRulesError;
      expect(e.name).toBe('TagRulesError');
      expect(e.file).toBe(FILE);
      expect(e.errors).toEqual([
        {
          file: FILE,
          line: 3,
          column: 45,
          path: 'tags[0].when.within',
          message: 'expected a duration like "30d", "12h", "2w" or "3mo" (a month is 30 days), got "30 days"',
        },
      ]);
      expect(e.message).toBe(
        'Tag rules in tags.yaml not loaded, 1 problem:\ntags.yaml:3:45  tags[0].when.within: expected a duration like "30d", "12h", "2w" or "3mo" (a month is 30 days), got "30 days"',
      );
    }
  });
});

describe('loadTagRules: warnings', () => {
  it('warns about an event name that looks like a misspelt known one, and still loads', () => {
    const result = loadTagRules(oneRule('{ event: order completed }'), FILE);
    expect(result.ok).toBe(true);
    expect(warningsOf(result)).toEqual([
      'tags.yaml:3:20  tags[0].when.event: "order completed" is not an event Rapport knows, did you mean "Order Completed"? (event names are case-sensitive; custom events are fine)',
    ]);
  });

  it('does not warn about custom events', () => {
    expect(warningsOf(loadTagRules(oneRule('{ event: Webinar Attended, within: 30d }'), FILE))).toEqual([]);
  });

  it('warns that at_least: 0 alone always holds', () => {
    expect(warningsOf(loadTagRules(oneRule('{ event: Order Completed, at_least: 0 }'), FILE))).toEqual([
      'tags.yaml:3:47  tags[0].when.at_least: at_least: 0 without at_most always holds; did you mean no_event?',
    ]);
  });
});

describe('loadTagRules: manual tags (set by a CRM, declared so journeys may read them)', () => {
  const rule = '  - name: vip\n    when: { stat: totalRevenue, gte: 1000 }\n';

  it('loads the declared manual tags beside the rules', () => {
    const result = loadTagRules(`tags:\n${rule}manualTags:\n  - name: crm-gold\n    description: Gold customers in the CRM\n  - { name: "partner:acme" }\n`, FILE);
    expect(result).toEqual({
      ok: true,
      rules: [{ name: 'vip', when: { kind: 'stat', stat: 'totalRevenue', gte: 1000 } }],
      manualTags: [{ name: 'crm-gold', description: 'Gold customers in the CRM' }, { name: 'partner:acme' }],
      warnings: [],
    });
  });

  it('refuses a bad manual tag, a duplicate and a misspelt top-level key, each at its place', () => {
    expect(errorsOf(`tags:\n${rule}manualTags:\n  - name: CRM Gold\n  - { name: crm-gold, colour: gold }\n  - name: crm-silver\n  - name: crm-silver\n`)).toEqual([
      'tags.yaml:5:11  manualTags[0].name: expected a tag name (lowercase letters, digits, "-", "_" or ":") like "crm-gold", got "CRM Gold"',
      'tags.yaml:6:23  manualTags[1].colour: unknown key "colour"; a manual tag takes name, description',
      'tags.yaml:8:11  manualTags[3].name: duplicate manual tag "crm-silver"; manualTags[2] on line 7 already declares it',
    ]);
    expect(errorsOf(`tags:\n${rule}manualTag:\n  - name: crm-gold\n`)).toEqual([
      'tags.yaml:4:1  manualTag: unknown key "manualTag"; did you mean "manualTags"? the file holds "tags" and, optionally, "manualTags"',
    ]);
    expect(errorsOf(`tags:\n${rule}manualTags: crm-gold\n`)).toEqual([
      'tags.yaml:4:13  manualTags: expected a list of manual tags under "manualTags", like [{ name: crm-gold, description: ... }], got "crm-gold"',
    ]);
  });

  it('warns about a manual tag that is a rule already', () => {
    const result = loadTagRules(`tags:\n${rule}manualTags:\n  - name: vip\n`, FILE);
    expect(result.ok && result.manualTags).toEqual([]);
    expect(warningsOf(result)).toEqual(['tags.yaml:5:11  manualTags[0].name: "vip" is already a computed tag (tags[0] on line 2): journeys may read it without declaring it here']);
  });
});

describe('loadTagRules: a bounded number of rules', () => {
  it('refuses more than 100 tag rules: each may publish a derived event on every event', () => {
    const rules = Array.from({ length: 101 }, (_, i) => `  - { name: t${i}, description: x, when: { stat: orderCount, gte: ${i} } }\n`).join('');
    expect(errorsOf(`tags:\n${rules}`)).toEqual(['tags.yaml:2:3  tags: holds 101 tag rules; the limit is 100 (each may publish a Tag Added or Tag Removed on every event)']);
  });
});
