/**
 * The broadcast shape (workflows/broadcasts.d/<id>.yaml and POST /v1/broadcasts): problems named by field,
 * files refused with file:line:col, the JSON Schema committed for editors, and the page sizes a rate gives.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pacing, PAGE_SIZE, PAGE_SIZE_MAX } from '../../../functions/broadcasts';
import { broadcastJsonSchema, BroadcastFileError, loadBroadcastFile, parseBroadcast } from '../../../shared/broadcasts';
import { formatProblem } from '../../../shared/segmentation/errors';
import { loadBroadcastsFromDir } from '../../../workflows/broadcasts';

describe('a broadcast', () => {
  it('parses with its defaults (kind: marketing)', () => {
    const parsed = parseBroadcast({ id: 'spring-sale', segment: 'lifecycle:active', send: { channel: 'sms', template: 'sale' }, rate: 0.5 });
    expect(parsed).toEqual({ ok: true, broadcast: { id: 'spring-sale', segment: 'lifecycle:active', send: { channel: 'sms', template: 'sale', kind: 'marketing' }, rate: 0.5 } });
  });

  it('names every field that is wrong, at its path', () => {
    const parsed = parseBroadcast({ id: 'Spring Sale', segment: 'lifecycle:sleepy', send: { channel: 'email' }, at: '2027-03-01', extra: 1 });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems.map((p) => p.path).sort()).toEqual(['$.at', '$.extra', '$.id', '$.segment', '$.send.template']);
    expect(parsed.problems.find((p) => p.path === '$.segment')?.message).toContain('lifecycle stage must be one of');
    expect(parsed.problems.find((p) => p.path === '$.send.template')?.message).toMatch(/^missing; /);
  });

  it('in a file: every problem with its line and column, and the id must be the file name', () => {
    const text = 'id: spring\nsegment: tag:vip\nsend: { channel: fax, template: sale }\nrate: -1\n';
    const result = loadBroadcastFile(text, 'broadcasts.d/spring.yaml', 'spring');
    expect(result.ok ? [] : result.errors.map(formatProblem)).toEqual([
      'broadcasts.d/spring.yaml:3:18  send.channel: expected "email", "sms", "whatsapp" or "push", got "fax"',
      'broadcasts.d/spring.yaml:4:7  rate: expected messages per second, a positive number, got -1',
    ]);
    const renamed = loadBroadcastFile('id: other\nsegment: tag:vip\nsend: { channel: email, template: sale }\n', 'broadcasts.d/spring.yaml', 'spring');
    expect(renamed.ok ? [] : renamed.errors.map(formatProblem)).toEqual(['broadcasts.d/spring.yaml:1:5  id: expected "spring", the file\'s name: a broadcast\'s id names its file']);
  });

  it('folder: refused whole when one file is broken; a missing folder holds none', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'rapport-broadcasts-')), 'broadcasts.d');
    expect(loadBroadcastsFromDir(dir)).toEqual([]);
    mkdirSync(dir);
    writeFileSync(join(dir, 'good.yaml'), 'id: good\nsegment: tag:vip\nsend: { channel: email, template: sale }\n');
    expect(loadBroadcastsFromDir(dir).map((b) => b.id)).toEqual(['good']);
    writeFileSync(join(dir, 'bad.yaml'), 'id: bad\nsegment: vip\nsend: { channel: email, template: sale }\n');
    expect(() => loadBroadcastsFromDir(dir)).toThrow(BroadcastFileError);
  });

  it('has its JSON Schema committed for editors (npm run schema)', () => {
    const committed = JSON.parse(readFileSync('shared/contract/schema/broadcast.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(broadcastJsonSchema())));
  });
});

describe('pacing', () => {
  it('takes PAGE_SIZE recipients a page without a rate, and a second of them (at least one) with one', () => {
    expect(pacing(undefined)).toEqual({ size: PAGE_SIZE });
    expect(pacing(50)).toEqual({ size: 50, periodSeconds: 1 });
    expect(pacing(2.5)).toEqual({ size: 2, periodSeconds: 0.8 });
    expect(pacing(0.25)).toEqual({ size: 1, periodSeconds: 4 });
    expect(pacing(5_000)).toEqual({ size: PAGE_SIZE_MAX, periodSeconds: 0.2 });
  });
});
