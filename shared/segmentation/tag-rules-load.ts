import { TAG_RULES_MAX } from './constants';
import { sortProblems, TagRulesError, type SourceProblem } from './errors';
import { ManualTagSchema, TagRuleSchema, TagRulesFileSchema, type ManualTag, type TagRule } from './tag-rules';
import { checkRule, type Finding } from './tag-rules-check';
import type { PathSegment } from './text';
import { readYaml, zodProblems, type YamlSource } from './yaml-source';

export type TagRulesResult =
  | { ok: true; rules: TagRule[]; manualTags: ManualTag[]; warnings: SourceProblem[] }
  | { ok: false; errors: SourceProblem[]; warnings: SourceProblem[] };

/**
 * Reads tags.yaml text: YAML syntax, then each rule's shape (zod), then its
 * meaning (tag-rules-check.ts) and that tag names are unique; then the declared
 * manual tags (`manualTags`), each once (one that is also a rule's name is a warning). All or nothing: a
 * file with any error yields every error found and no rules.
 */
export function loadTagRules(text: string, file: string): TagRulesResult {
  const source = readYaml(text, file);
  if (source.syntaxErrors.length > 0) return { ok: false, errors: [...source.syntaxErrors], warnings: [] };
  const top = TagRulesFileSchema.safeParse(source.value, { reportInput: true });
  if (!top.success) return { ok: false, errors: sortProblems(zodProblems(source, top.error.issues)), warnings: [] };

  const errors: SourceProblem[] = [];
  const warnings: SourceProblem[] = [];
  const rules: TagRule[] = [];
  const firstByName = new Map<string, number>();
  const place = (base: PathSegment[], findings: Finding[]) => findings.map((f) => source.problem([...base, ...f.path], f.message));

  top.data.tags.forEach((raw, index) => {
    const base: PathSegment[] = ['tags', index];
    errors.push(...duplicateName(source, raw, index, firstByName));
    const parsed = TagRuleSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      errors.push(...zodProblems(source, parsed.error.issues, base));
      return;
    }
    const checked = checkRule(parsed.data);
    errors.push(...place(base, checked.errors));
    warnings.push(...place(base, checked.warnings));
    rules.push(parsed.data);
  });

  if (top.data.tags.length > TAG_RULES_MAX) {
    errors.push(source.problem(['tags'], `holds ${top.data.tags.length} tag rules; the limit is ${TAG_RULES_MAX} (each may publish a Tag Added or Tag Removed on every event)`));
  }

  const manualTags: ManualTag[] = [];
  const firstManual = new Map<string, number>();
  (top.data.manualTags ?? []).forEach((raw, index) => {
    const base: PathSegment[] = ['manualTags', index];
    const parsed = ManualTagSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      errors.push(...zodProblems(source, parsed.error.issues, base));
      return;
    }
    const { name } = parsed.data;
    const first = firstManual.get(name);
    const rule = firstByName.get(name);
    if (first !== undefined) {
      const firstLine = source.problem(['manualTags', first, 'name'], '').line;
      errors.push(source.problem([...base, 'name'], `duplicate manual tag "${name}"; manualTags[${first}] on line ${firstLine} already declares it`));
      return;
    }
    if (rule !== undefined) {
      const ruleLine = source.problem(['tags', rule, 'name'], '').line;
      warnings.push(source.problem([...base, 'name'], `"${name}" is already a computed tag (tags[${rule}] on line ${ruleLine}): journeys may read it without declaring it here`));
      return;
    }
    firstManual.set(name, index);
    manualTags.push(parsed.data);
  });

  return errors.length > 0
    ? { ok: false, errors: sortProblems(errors), warnings: sortProblems(warnings) }
    : { ok: true, rules, manualTags, warnings: sortProblems(warnings) };
}

/** `loadTagRules`, throwing `TagRulesError` with every problem when the file has any. */
export function loadTagRulesOrThrow(text: string, file: string): TagRule[] {
  const result = loadTagRules(text, file);
  if (!result.ok) throw new TagRulesError(file, result.errors);
  return result.rules;
}

function duplicateName(source: YamlSource, raw: unknown, index: number, firstByName: Map<string, number>): SourceProblem[] {
  const name = typeof raw === 'object' && raw !== null && 'name' in raw ? raw.name : undefined;
  if (typeof name !== 'string') return [];
  const first = firstByName.get(name);
  if (first === undefined) {
    firstByName.set(name, index);
    return [];
  }
  const firstLine = source.problem(['tags', first, 'name'], '').line;
  return [source.problem(['tags', index, 'name'], `duplicate tag name "${name}"; tags[${first}] on line ${firstLine} already defines it`)];
}
