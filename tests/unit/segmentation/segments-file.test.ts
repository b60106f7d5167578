/**
 * workflows/segments.yaml: loaded all or nothing, every problem at its file:line:col, like tags.yaml; its JSON
 * Schema for editors is committed (`npm run schema`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSegments, segmentsJsonSchema } from '../../../shared/segmentation/segments-file';

describe('segments.yaml', () => {
  it('loads the shipped file', () => {
    const result = loadSegments(readFileSync('workflows/segments.yaml', 'utf8'), 'workflows/segments.yaml');
    expect(result.ok && result.segments.map((s) => s.id)).toEqual(['big-spenders-gone-quiet', 'engaged-browsers']);
  });

  it('names each problem where it is: a bad id, a duplicate, an unknown stat, an unknown key', () => {
    const text = [
      'segments:',
      '  - { id: Big Spenders, name: A, when: { stat: totalRevenue, gte: 1 } }',
      '  - { id: quiet, name: B, when: { stat: totalRevenue, gte: 1 } }',
      '  - { id: quiet, name: C, when: { stat: totalRevenu, gte: 1 } }',
      '  - { id: d, name: D, when: { stat: orderCount, eq: 0 }, colour: red }',
      '',
    ].join('\n');
    const result = loadSegments(text, 'segments.yaml');
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
    expect(problems).toEqual([
      expect.stringMatching(/^2:\d+ segments\[0\]\.id: expected a segment id in lowercase/),
      expect.stringMatching(/^4:\d+ segments\[2\]\.id: duplicate segment id "quiet"; segments\[1\] on line 3 already defines it/),
      expect.stringMatching(/^4:\d+ segments\[2\]\.when\.stat: .*totalRevenue/),
      expect.stringMatching(/^5:\d+ segments\[3\]\.colour: unknown key "colour"; a segment takes id, name, description and when$/),
    ]);
  });

  it('refuses a file without a segments list, and YAML that does not parse', () => {
    expect(loadSegments('segment: []\n', 'segments.yaml')).toMatchObject({ ok: false, errors: [{ path: 'segments', message: expect.stringMatching(/expected a list of segments/) }, { path: 'segment', message: 'unknown key "segment"; the file holds one key, "segments"' }] });
    expect(loadSegments('segments: [\n', 'segments.yaml')).toMatchObject({ ok: false, errors: [{ line: 2, path: '(yaml)', message: expect.stringMatching(/Flow sequence/) }] });
  });

  it('has its JSON Schema committed for editors (npm run schema)', () => {
    const committed = JSON.parse(readFileSync('shared/contract/schema/segments.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(segmentsJsonSchema())));
  });
});
