import { z } from 'zod';
import { SegmentsFileError, sortProblems, type SourceProblem } from './errors';
import { ConditionSchema, type TagRule } from './tag-rules';
import { checkRule, type Finding } from './tag-rules-check';
import type { PathSegment } from './text';
import { readYaml, zodProblems } from './yaml-source';

/**
 * `workflows/segments.yaml` (optional): segments a marketer names, as conditions in the tag-rule language.
 * Each is the segment `segment:<id>`, counted and listed like the built-in ones (every tag, lifecycle stage
 * and RFM tier), recomputed on every event and by the daily sweep for conditions that change with time.
 * Unlike a tag rule it publishes no event and journeys do not read it.
 *
 * ```yaml
 * segments:
 *   - id: big-spenders-quiet
 *     name: Big spenders gone quiet
 *     description: Spent 500 or more, no order for 60 days
 *     when: { all: [{ stat: totalRevenue, gte: 500 }, { days_since: lastOrderAt, gte: 60 }] }
 * ```
 */
export const SEGMENTS_FILE = 'segments.yaml';
/** At most this many named segments: each is evaluated on every event of every customer. */
export const NAMED_SEGMENTS_MAX = 100;
export const SEGMENT_ID_PATTERN = /^[a-z0-9]+(?:[-_][a-z0-9]+)*$/;
const ID_MESSAGE = 'expected a segment id in lowercase letters, digits, "-" or "_", like "big-spenders-quiet"';

export const NamedSegmentSchema = z.strictObject(
  {
    id: z.string({ error: ID_MESSAGE }).regex(SEGMENT_ID_PATTERN, { error: ID_MESSAGE }).max(64, { error: 'expected a segment id of at most 64 characters' }),
    name: z.string({ error: 'expected a name a marketer reads, like "Big spenders gone quiet"' }).min(1).max(200),
    description: z.string({ error: 'expected a short text saying who is in this segment' }).max(2_000).optional(),
    when: ConditionSchema,
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'a segment takes id, name, description and when' : 'expected a segment: { id, name, description?, when }') },
);
export type NamedSegment = z.output<typeof NamedSegmentSchema>;

export const SegmentsFileSchema = z.strictObject(
  { segments: z.array(NamedSegmentSchema, { error: 'expected a list of segments under "segments"' }) },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'the file holds one key, "segments"' : 'expected a mapping with a "segments" list') },
);

/** The file as the loader first reads it: the list, each segment then checked on its own (so every problem is found). */
const SegmentsListSchema = z.strictObject(
  { segments: z.array(z.unknown(), { error: 'expected a list of segments under "segments"' }) },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'the file holds one key, "segments"' : 'expected a mapping with a "segments" list') },
);

export type SegmentsResult = { ok: true; segments: NamedSegment[]; warnings: SourceProblem[] } | { ok: false; errors: SourceProblem[]; warnings: SourceProblem[] };

/** Reads segments.yaml text: YAML, shape, each condition's meaning (as a tag rule's), ids once each, the limit. All or nothing. */
export function loadSegments(text: string, file: string): SegmentsResult {
  const source = readYaml(text, file);
  if (source.syntaxErrors.length > 0) return { ok: false, errors: [...source.syntaxErrors], warnings: [] };
  const parsed = SegmentsListSchema.safeParse(source.value ?? {}, { reportInput: true });
  if (!parsed.success) return { ok: false, errors: sortProblems(zodProblems(source, parsed.error.issues)), warnings: [] };
  const errors: SourceProblem[] = [];
  const warnings: SourceProblem[] = [];
  const segments: NamedSegment[] = [];
  const place = (base: PathSegment[], findings: Finding[]) => findings.map((f) => source.problem([...base, ...f.path], f.message));
  const first = new Map<string, number>();
  parsed.data.segments.forEach((raw, index) => {
    const base: PathSegment[] = ['segments', index];
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'string' ? raw.id : undefined;
    const seen = id === undefined ? undefined : first.get(id);
    if (id !== undefined && seen !== undefined) errors.push(source.problem([...base, 'id'], `duplicate segment id "${id}"; segments[${seen}] on line ${source.problem(['segments', seen, 'id'], '').line} already defines it`));
    else if (id !== undefined) first.set(id, index);
    const segment = NamedSegmentSchema.safeParse(raw, { reportInput: true });
    if (!segment.success) {
      errors.push(...zodProblems(source, segment.error.issues, base));
      return;
    }
    const checked = checkRule({ name: segment.data.id, when: segment.data.when } as TagRule);
    errors.push(...place(base, checked.errors));
    warnings.push(...place(base, checked.warnings));
    segments.push(segment.data);
  });
  if (parsed.data.segments.length > NAMED_SEGMENTS_MAX) errors.push(source.problem(['segments'], `holds ${parsed.data.segments.length} segments; the limit is ${NAMED_SEGMENTS_MAX} (each is evaluated on every event)`));
  return errors.length > 0 ? { ok: false, errors: sortProblems(errors), warnings: sortProblems(warnings) } : { ok: true, segments, warnings: sortProblems(warnings) };
}

/** The named segments as the rules segmentation evaluates (`evaluateTags`): name = the segment id. */
export const segmentRules = (segments: readonly NamedSegment[]): TagRule[] => segments.map((s) => ({ name: s.id, when: s.when }) as TagRule);

/** `loadSegments`, throwing `SegmentsFileError` with every problem when the file has any. */
export function loadSegmentsOrThrow(text: string, file: string): NamedSegment[] {
  const result = loadSegments(text, file);
  if (!result.ok) throw new SegmentsFileError(file, result.errors);
  return result.segments;
}

/** The JSON Schema of segments.yaml, for editors (yaml-language-server); `npm run schema` writes it. */
export function segmentsJsonSchema(): unknown {
  return z.toJSONSchema(SegmentsFileSchema, { io: 'input', unrepresentable: 'any' });
}
