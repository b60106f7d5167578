/**
 * Branch conditions: the tag-rule condition language of shared/segmentation
 * (`{ stat: orderCount, eq: 0 }`, `{ all: [...] }`, `{ event: X, within: 7d }`,
 * ...). A journey keeps a condition as written; the segmentation schema checks
 * it, and the branch step parses and evaluates it against the profile with the
 * same module (`ConditionSchema`, then `evaluateCondition`).
 */
import { z } from 'zod';
import { ConditionSchema as SegmentationConditionSchema } from '../../shared/segmentation';

/** A condition as written in the journey file (checked by the segmentation schema). */
export type Condition = Record<string, unknown>;

const isMapping = (value: unknown): value is Condition => typeof value === 'object' && value !== null && !Array.isArray(value);

export const ConditionSchema = z
  .custom<Condition>(isMapping, { error: 'expected a condition, like { stat: orderCount, eq: 0 } (the tag-rule condition language)' })
  .superRefine((value, ctx) => {
    const result = SegmentationConditionSchema.safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) ctx.addIssue({ code: 'custom', path: [...issue.path, key], message: `unknown key "${key}": ${issue.message}`, params: { anchor: 'key' } });
        continue;
      }
      const atKey = (issue as { params?: { anchor?: unknown } }).params?.anchor === 'key';
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, ...(atKey && { params: { anchor: 'key' } }) });
    }
  })
  .describe('A condition on the customer profile, in the tag-rule language: { stat: orderCount, eq: 0 }, { trait: plan, in: [pro] }, { lifecycle: [new] }, { tag: vip }, { recommendations: categories, contains: coffee-table }, { event: Order Completed, within: 30d }, { all | any: [...] }, { not: {...} }.');

const OPERATOR_TEXT: Readonly<Record<string, string>> = { eq: '==', ne: '!=', gt: '>', gte: '>=', lt: '<', lte: '<=' };

const value = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function comparisons(subject: string, c: Condition): string {
  const parts: string[] = [];
  for (const [op, v] of Object.entries(c)) {
    if (OPERATOR_TEXT[op] !== undefined) parts.push(`${subject} ${OPERATOR_TEXT[op]} ${value(v)}`);
    else if (op === 'in' && Array.isArray(v)) parts.push(`${subject} in [${v.map(value).join(', ')}]`);
    else if (op === 'exists') parts.push(v === false ? `no ${subject}` : `${subject} exists`);
  }
  return parts.join(' and ');
}

function events(verb: string, name: unknown, c: Condition): string {
  const since = c['since'];
  const anchor = isMapping(since) ? `${value(since['event'])}${since['where'] !== undefined ? ` where ${JSON.stringify(since['where'])}` : ''}` : value(since);
  const window = c['within'] !== undefined ? ` within ${value(c['within'])}` : since !== undefined ? ` since ${anchor}` : '';
  const where = c['where'] !== undefined ? ` where ${JSON.stringify(c['where'])}` : '';
  const count = c['at_least'] !== undefined ? ` at least ${value(c['at_least'])}x` : c['at_most'] !== undefined ? ` at most ${value(c['at_most'])}x` : '';
  return `${verb} ${value(name)}${where}${count}${window}`;
}

/** A short reading of a condition, for pictures: `stats.orderCount == 0`. */
export function describeCondition(condition: Condition): string {
  const nested = (c: unknown, joiner: string) => {
    const text = describeCondition(c as Condition);
    return joiner === ' and ' && isMapping(c) && 'any' in c ? `(${text})` : text;
  };
  if (Array.isArray(condition['all'])) return condition['all'].map((c) => nested(c, ' and ')).join(' and ');
  if (Array.isArray(condition['any'])) return condition['any'].map((c) => nested(c, ' or ')).join(' or ');
  if (isMapping(condition['not'])) return `not (${describeCondition(condition['not'])})`;
  if (condition['stat'] !== undefined) return comparisons(`stats.${value(condition['stat'])}`, condition);
  if (condition['trait'] !== undefined) return comparisons(`traits.${value(condition['trait'])}`, condition);
  if (condition['days_since'] !== undefined) return comparisons(`days since ${value(condition['days_since'])}`, condition);
  if (condition['rfm'] !== undefined) return comparisons(`rfm.${value(condition['rfm'])}`, condition);
  if (condition['lifecycle'] !== undefined) {
    const stages = Array.isArray(condition['lifecycle']) ? condition['lifecycle'] : [condition['lifecycle']];
    return `lifecycle is ${stages.map(value).join(' or ')}`;
  }
  if (condition['event'] !== undefined) return events('did', condition['event'], condition);
  if (condition['no_event'] !== undefined) return events('no', condition['no_event'], condition);
  if (condition['tag'] !== undefined) {
    const tags = Array.isArray(condition['tag']) ? condition['tag'] : [condition['tag']];
    return `has tag ${tags.map(value).join(' or ')}`;
  }
  if (condition['recommendations'] !== undefined) {
    const names = Array.isArray(condition['contains']) ? condition['contains'] : [condition['contains']];
    return `recommendations.${value(condition['recommendations'])} contains ${names.map(value).join(' or ')}`;
  }
  return JSON.stringify(condition);
}
