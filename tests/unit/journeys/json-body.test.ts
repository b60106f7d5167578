import { describe, expect, it } from 'vitest';
import { jsonBodyLiquid } from '../../../shared/templates/json-body';

const render = (source: string, data: Record<string, unknown>) => jsonBodyLiquid({ strictFilters: true, ownPropertyOnly: true }).parseAndRender(source, data) as Promise<string>;

describe('webhook bodies: every output JSON-escaped', () => {
  it('keeps a hostile value inside the string it is written in', async () => {
    const body = await render('{ "id": {{ id | json }}, "priority": "low", "note": "Call {{ name }}" }', { id: 'c-1', name: 'Ada", "id": "victim-1", "priority": "urgent' });
    expect(JSON.parse(body)).toEqual({ id: 'c-1', priority: 'low', note: 'Call Ada", "id": "victim-1", "priority": "urgent' });
  });

  it('escapes newlines, backslashes and control characters', async () => {
    const name = 'line\nnext\\ \u0001 "q"';
    expect(JSON.parse(await render('{ "n": "{{ name }}" }', { name }))).toEqual({ n: name });
  });

  it('writes `| json` values (strings, numbers, objects, a chain ending in json) and `| raw` as they are', async () => {
    const body = await render('{ "a": {{ s | json }}, "b": {{ n | json }}, "c": {{ o | json }}, "d": {{ "Complaint " | append: s | json }}, "e": {{ r | raw }}, "f": {{ n }} }', { s: 'x"y', n: 42.5, o: { k: [1, 'two'] }, r: '[1,2]' });
    expect(JSON.parse(body)).toEqual({ a: 'x"y', b: 42.5, c: { k: [1, 'two'] }, d: 'Complaint x"y', e: [1, 2], f: 42.5 });
  });

  it('`json: 2` indents as Liquid\'s own filter does', async () => {
    expect(await render('{{ o | json: 2 }}', { o: { a: 1 } })).toBe('{\n  "a": 1\n}');
  });
});
