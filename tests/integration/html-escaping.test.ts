/**
 * HTML email parts escape every output by default (Liquid `outputEscape: escape`):
 * a trait a sender controls cannot inject markup into a message, whether or not
 * the template author remembered `| escape`. Raw output takes an explicit
 * `| raw`. Subjects and text parts are not HTML and are not escaped.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liquidTemplates } from '../../functions/journeys/templates';
import type { Engine } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { checkTemplate } from '../../workflows/journeys/templates';
import { client } from '../helpers/client';
import { startTestEngine } from '../helpers/engine';
import { outboxFor, runToEnd } from '../helpers/journeys';

const HOSTILE = '<script>alert("x")</script> & Co';
const dir = mkdtempSync(path.join(tmpdir(), 'rapport-escape-'));
/** Virtual time: the journey runs while the engine handles the event, and its record is read once it ended. */
const clock = new VirtualClock('2026-03-02T10:00:00Z');
let engine: Engine;
let api: ReturnType<typeof client>;
beforeAll(async () => {
  for (const sub of ['journeys', 'templates']) mkdirSync(path.join(dir, sub));
  writeFileSync(
    path.join(dir, 'journeys', 'greet.yaml'),
    ['id: greet', 'name: Greet', 'version: 1', 'trigger: { event: Greet Me }', 'entry: { reentry: always }', 'steps:', '  - id: hello', '    send: { channel: email, template: hello }', ''].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'templates', 'hello.email.liquid'),
    [
      'Subject: Hi {{ profile.traits.name }}',
      '',
      'Hi {{ profile.traits.name }}',
      'Unsubscribe: {{ unsubscribe_url }}',
      '--- html ---',
      '<p>Hi {{ profile.traits.name | default: "there" }}</p>',
      '<div>{{ profile.traits.signature | raw }}</div>',
      '<a href="{{ unsubscribe_url }}">Unsubscribe</a>',
    ].join('\n'),
  );
  engine = await startTestEngine({
    journeysDir: path.join(dir, 'journeys'),
    templatesDir: path.join(dir, 'templates'),
    clock,
    sendPolicy: { quietHours: undefined },
    sweepEveryMs: 0,
    logLevel: 'SILENT',
  });
  api = client(engine);
});
afterAll(async () => {
  await engine.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTML email parts escape by default', () => {
  it('escapes a trait in the HTML part without `| escape`, keeps `| raw` raw, and leaves subject and text alone', async () => {
    await api.send([
      { type: 'identify', userId: 'esc-1', traits: { email: 'esc-1@example.com', name: HOSTILE, signature: '<b>The team</b>' } },
      { type: 'track', userId: 'esc-1', event: 'Greet Me' },
    ]);
    expect((await runToEnd(clock, engine, 'esc-1', 'greet')).status).toBe('completed');
    const [mail] = outboxFor(engine, 'esc-1');
    if (mail?.channel !== 'email') throw new Error('expected one email');
    expect(mail.html).toContain('<p>Hi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co</p>');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('<div><b>The team</b></div>');
    expect(mail.subject).toBe(`Hi ${HOSTILE}`);
    expect(mail.text).toContain(`Hi ${HOSTILE}`);
  });

  it('keeps the unsubscribe href working: `&` is `&amp;` in the attribute, and the decoded link unsubscribes', async () => {
    const [mail] = outboxFor(engine, 'esc-1');
    if (mail?.channel !== 'email') throw new Error('expected one email');
    const href = /<a href="([^"]+)">Unsubscribe<\/a>/.exec(mail.html ?? '')?.[1];
    expect(href).toMatch(/\?c=esc-1&amp;ch=email&amp;a=[0-9a-f]{64}&amp;t=/);
    const link = href!.replaceAll('&amp;', '&'); // what a mail client's HTML parser hands to the browser
    expect(link).toBe(/<(.+)>/.exec(mail.headers['List-Unsubscribe']!)![1]);
    const res = await fetch(link, { method: 'POST' });
    expect(res.status).toBe(200);
    await engine.settle();
    expect((await api.customer('esc-1')).consent.email.status).toBe('denied');
  });
});

describe('the shipped templates (workflows/templates)', () => {
  const sources = Object.fromEntries(
    readdirSync('workflows/templates')
      .filter((f) => f.endsWith('.email.liquid'))
      .map((f) => [f.replace(/\.liquid$/, ''), readFileSync(path.join('workflows/templates', f), 'utf8')]),
  );
  const render = liquidTemplates(sources);
  const data = {
    profile: { id: 'c-1', traits: { name: HOSTILE, email: 'c@example.com' }, stats: {} },
    customer: { id: 'c-1' },
    trigger: { complaintId: '<i>C-1</i>' },
    triggerEvent: { messageId: 'm-1', event: 'Test' },
    journey: { id: 'j', step: 's', execution: 'e' },
    unsubscribe_url: 'https://rapport.example/v1/unsubscribe?c=c-1&ch=email&t=abc',
  };
  it.each(Object.keys(sources).map((key) => key.replace(/\.email$/, '')))('%s: HTML escaped once, text and subject as written, href well-formed', async (template) => {
    const mail = await render.email(template, data);
    if (mail.html === undefined) return;
    expect(mail.html).not.toMatch(/<script|<i>/);
    expect(mail.html).not.toContain('&amp;lt;'); // not escaped twice
    if (mail.html.includes('Hi ')) expect(mail.html).toContain('&lt;script&gt;');
    for (const [, href] of mail.html.matchAll(/href="([^"]*)"/g)) expect(href).not.toMatch(/&(?!amp;|#\d+;|lt;|gt;|quot;)/);
    expect(mail.text).not.toContain('&lt;');
    expect(mail.subject).not.toContain('&lt;');
  });
});

describe('rapport validate on the HTML part', () => {
  it('flags `| escape` there (it would escape twice) at its line, and accepts `| raw` and the text part\'s `| escape`', () => {
    const source = ['Subject: Hi {{ profile.traits.name | escape }}', '', 'Hi {{ profile.traits.name | escape }}', '--- html ---', '<p>{{ profile.traits.bio | raw }}</p>', '<p>Hi {{ profile.traits.name | default: "x" | escape }}</p>'].join('\n');
    expect(checkTemplate('hello.email.liquid', 'email', source)).toEqual([
      expect.objectContaining({ file: 'hello.email.liquid', line: 6, message: expect.stringMatching(/^"\| escape" in the HTML part escapes twice: .*remove it/) }),
    ]);
  });
});
