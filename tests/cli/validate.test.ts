import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brokenWorkflows } from './fixtures';
import { CHILD_PROCESS_TIMEOUT, cliInProcess, lines, literal, ROOT } from './helpers';

/** `rapport validate`: every problem as file:line:col, exit 1; the shipped workflows pass. In process (`run()`, what the bin calls; the bin itself is usage.test.ts's). */

const tmp = mkdtempSync(join(tmpdir(), 'rapport-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('rapport validate', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('passes the shipped workflows: exit 0 and one summary line', async () => {
    const result = await cliInProcess(['validate']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const journeys = readdirSync(join(ROOT, 'workflows', 'journeys.d')).filter((f) => f.endsWith('.yaml')).length;
    expect(lines(result.stdout)).toEqual([expect.stringMatching(new RegExp(`^ok: ${journeys} journeys, \\d+ templates, \\d+ tag rules and the segmentation config in workflows are valid$`))]);
  });

  it('prints every problem as file:line:col  path: message (relative paths), a summary, and exits 1', async () => {
    const cwd = brokenWorkflows(tmp);
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual([
      'wf/journeys.d/no-timeout.yaml:9:15  steps[1].wait_for.timeout: wait_for needs a timeout, such as "7d": a journey cannot wait forever',
      'wf/tags.yaml:7:45  tags[1].when.within: expected a duration like "30d", "12h", "2w" or "3mo" (a month is 30 days), got "30 days"',
      '2 problems in 2 files; checked 2 journeys, 1 template, tags.yaml and segmentation.config.yaml in wf',
    ]);
  });

  it('prints tag-rule warnings as file:line:col  warning: ..., and still exits 0', async () => {
    const cwd = join(tmp, 'warned');
    mkdirSync(join(cwd, 'wf'), { recursive: true });
    cpSync(join(ROOT, 'workflows', 'journeys.d'), join(cwd, 'wf', 'journeys.d'), { recursive: true });
    cpSync(join(ROOT, 'workflows', 'templates'), join(cwd, 'wf', 'templates'), { recursive: true });
    cpSync(join(ROOT, 'workflows', 'topics.yaml'), join(cwd, 'wf', 'topics.yaml'));
    writeFileSync(join(cwd, 'wf', 'segmentation.config.yaml'), '');
    writeFileSync(join(cwd, 'wf', 'tags.yaml'), ['tags:', '  - name: buyer', '    description: Ordered lately', '    when: { event: Order Complete, within: 30d }', ''].join('\n'));
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code, result.stdout).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'wf/tags.yaml:4:20  warning: tags[0].when.event: "Order Complete" is not an event Rapport knows, did you mean "Order Completed"? (event names are case-sensitive; custom events are fine)',
      expect.stringMatching(/^ok: \d+ journeys, \d+ templates, 1 tag rule and the segmentation config in wf are valid \(1 warning\)$/),
    ]);
  });

  it('checks the broadcasts in broadcasts.d: shape at file:line:col, the id is the file name, the template exists', async () => {
    const cwd = join(tmp, 'broadcasts');
    mkdirSync(join(cwd, 'wf', 'broadcasts.d'), { recursive: true });
    for (const folder of ['journeys.d', 'templates']) cpSync(join(ROOT, 'workflows', folder), join(cwd, 'wf', folder), { recursive: true });
    for (const file of ['segmentation.config.yaml', 'tags.yaml', 'topics.yaml']) cpSync(join(ROOT, 'workflows', file), join(cwd, 'wf', file));
    writeFileSync(join(cwd, 'wf', 'broadcasts.d', 'fine.yaml'), 'id: fine\nsegment: tag:crm-gold\nsend: { channel: email, template: we-value-you }\n');
    writeFileSync(join(cwd, 'wf', 'broadcasts.d', 'fax.yaml'), 'id: fax\nsegment: tag:crm-gold\nsend: { channel: fax, template: we-value-you }\n');
    writeFileSync(join(cwd, 'wf', 'broadcasts.d', 'typo.yaml'), 'id: typo\nsegment: tag:crm-gold\nsend: { channel: email, template: we-value-yu }\n');
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code).toBe(1);
    expect(lines(result.stdout).slice(0, -1)).toEqual([
      'wf/broadcasts.d/fax.yaml:3:18  send.channel: expected "email", "sms", "whatsapp" or "push", got "fax"',
      'wf/broadcasts.d/typo.yaml:1:1  send.template: no email template "we-value-yu": expected a file wf/templates/we-value-yu.email.liquid',
    ]);
  });

  it('refuses a topic topics.yaml does not declare, in a journey, a send step and a broadcast, naming the field at file:line:col', async () => {
    // Prepare: the shipped workflows and topics, one journey and one broadcast naming topics nobody declared.
    const cwd = join(tmp, 'topics');
    mkdirSync(join(cwd, 'wf', 'broadcasts.d'), { recursive: true });
    for (const folder of ['journeys.d', 'templates']) cpSync(join(ROOT, 'workflows', folder), join(cwd, 'wf', folder), { recursive: true });
    for (const file of ['segmentation.config.yaml', 'tags.yaml', 'topics.yaml']) cpSync(join(ROOT, 'workflows', file), join(cwd, 'wf', file));
    writeFileSync(
      join(cwd, 'wf', 'journeys.d', 'promo.yaml'),
      ['id: promo', 'name: Promo', 'version: 1', 'topic: promos', 'trigger: { event: Signed Up }', 'steps:', '  - id: a', '    send: { channel: email, template: welcome, topic: deals }', ''].join('\n'),
    );
    writeFileSync(join(cwd, 'wf', 'broadcasts.d', 'news.yaml'), 'id: news\nsegment: tag:crm-gold\nsend: { channel: email, template: we-value-you }\ntopic: news\n');

    // Act
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });

    // Assess
    const declared = '(newsletter, offers, product-updates)';
    expect(result.code).toBe(1);
    expect(lines(result.stdout).slice(0, -1)).toEqual([
      `wf/broadcasts.d/news.yaml:4:8  topic: unknown topic "news": expected one declared in topics.yaml ${declared.replace(/(\w[\w-]*)/g, '"$1"')}`,
      `wf/journeys.d/promo.yaml:4:8  topic: unknown topic "promos": expected one declared in topics.yaml ${declared.replace(/(\w[\w-]*)/g, '"$1"')}`,
      `wf/journeys.d/promo.yaml:8:55  steps[0].send.topic: unknown topic "deals": expected one declared in topics.yaml ${declared.replace(/(\w[\w-]*)/g, '"$1"')}`,
    ]);
  });

  it('refuses a broken topics.yaml at file:line:col', async () => {
    const cwd = join(tmp, 'topics-broken');
    mkdirSync(join(cwd, 'wf'), { recursive: true });
    for (const folder of ['journeys.d', 'templates']) cpSync(join(ROOT, 'workflows', folder), join(cwd, 'wf', folder), { recursive: true });
    for (const file of ['segmentation.config.yaml', 'tags.yaml']) cpSync(join(ROOT, 'workflows', file), join(cwd, 'wf', file));
    writeFileSync(join(cwd, 'wf', 'topics.yaml'), ['topics:', '  - id: offers', '    name: Offers', '    default: { opt-out: subscribed, opt-in: maybe }', ''].join('\n'));
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code).toBe(1);
    expect(lines(result.stdout)[0]).toBe('wf/topics.yaml:4:45  topics[0].default.opt-in: expected "subscribed" or "unsubscribed", got "maybe"');
  });

  it('names missing files as problems', async () => {
    const dir = join(tmp, 'empty');
    mkdirSync(join(dir, 'wf'), { recursive: true });
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(lines(result.stdout).slice(0, -1)).toEqual([
      'wf/journeys.d:1:1  (file): no journeys folder: expected a folder with one <id>.yaml per journey',
      'wf/segmentation.config.yaml:1:1  (file): no segmentation.config.yaml: expected the segmentation settings file (it may be empty: every setting has a default)',
      'wf/tags.yaml:1:1  (file): no tags.yaml: expected the tag rules file (it may hold "tags: []")',
      'wf/templates:1:1  (file): no templates folder: expected <config>/templates with <template>.<channel>.liquid files',
    ]);
  });
});

describe('rapport validate --journeys (a folder of drafts)', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('checks the drafts against the shipped templates and tag rules, and points at the line', async () => {
    const cwd = join(tmp, 'drafts');
    mkdirSync(join(cwd, 'drafts'), { recursive: true });
    writeFileSync(
      join(cwd, 'drafts', 'browse.yaml'),
      ['id: browse', 'name: Browse reminder', 'version: 1', 'trigger: { event: Product Viewed }', 'steps:', '  - id: wait', '    wait: 1d', '  - id: remind', '    send: { channel: email, template: we-miss-you }', ''].join('\n'),
    );
    const good = await cliInProcess(['validate', '--config', join(ROOT, 'workflows'), '--journeys', 'drafts'], { cwd });
    expect(good.code, good.stdout).toBe(0);
    expect(lines(good.stdout)).toEqual([expect.stringMatching(new RegExp(`^ok: 1 journey, \\d+ templates, \\d+ tag rules and the segmentation config in drafts and ${literal(join(ROOT, 'workflows'))} are valid$`))]);

    writeFileSync(join(cwd, 'drafts', 'typo.yaml'), ['id: typo', 'name: Typo', 'version: 1', 'trigger: { event: Product Viewed }', 'steps:', '  - id: remind', '    send: { channel: email, template: we-mis-you }', ''].join('\n'));
    const bad = await cliInProcess(['validate', '--config', join(ROOT, 'workflows'), '--journeys', 'drafts'], { cwd });
    expect(bad.code).toBe(1);
    const out = lines(bad.stdout);
    expect(out[0]).toMatch(/^drafts\/typo\.yaml:7:\d+ {2}steps\[0\]\.send\.template: .*we-mis-you/);
    expect(out.at(-1)).toMatch(/^1 problem in 1 file; checked 2 journeys/);
  });
});

describe('rapport validate: the tags journeys read', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  /** A config folder `wf` under `name`: the shipped templates and segmentation config, the given tags.yaml and journeys. */
  function workflows(name: string, tags: string, journeys: Record<string, string>): string {
    const cwd = join(tmp, name);
    mkdirSync(join(cwd, 'wf', 'journeys.d'), { recursive: true });
    cpSync(join(ROOT, 'workflows', 'templates'), join(cwd, 'wf', 'templates'), { recursive: true });
    writeFileSync(join(cwd, 'wf', 'segmentation.config.yaml'), '');
    writeFileSync(join(cwd, 'wf', 'tags.yaml'), tags);
    for (const [id, text] of Object.entries(journeys)) writeFileSync(join(cwd, 'wf', 'journeys.d', `${id}.yaml`), text);
    return cwd;
  }
  const TAGS = ['tags:', '  - name: browsing-without-buying', '    when: { event: Product Viewed, within: 1d, at_least: 3 }', '  - name: vip', '    when: { stat: totalRevenue, gte: 1000 }', ''].join('\n');
  const journey = (id: string, head: string, steps = ['  - id: hello', '    send: { channel: email, template: welcome }']) =>
    [`id: ${id}`, `name: ${id}`, 'version: 1', ...head.split('\n'), 'steps:', ...steps, ''].join('\n');
  const EXPECTED = 'expected a tag rule in tags.yaml (browsing-without-buying, vip), a tag a journey adds with tag: { add } (contacted) or a manual tag declared under manualTags in tags.yaml (none)';

  it('refuses a tag nothing can produce in a trigger, an audience and a branch: file:line:col, a suggestion, exit 1', async () => {
    const cwd = workflows('unknown-tags', TAGS, {
      browse: journey('browse', 'trigger: { event: Tag Added, where: { tag: [browsing-withot-buying] } }'),
      vips: journey('vips', 'trigger: { event: Signed Up }\naudience: { tags: { include: [vipp] } }'),
      pick: journey('pick', 'trigger: { event: Signed Up }', [
        '  - id: mark',
        '    tag: { add: contacted }',
        '  - id: pick',
        '    branch:',
        '      - when: { tag: no-such-tag }',
        '        next: end',
        '      - when: { tag: contacted }',
        '        next: end',
      ]),
    });
    const result = await cliInProcess(['validate', '--config', 'wf', '--journeys', 'wf/journeys.d'], { cwd });
    expect(result.code, result.stdout).toBe(1);
    expect(lines(result.stdout)).toEqual([
      `wf/journeys.d/browse.yaml:4:45  trigger.where.tag[0]: unknown tag "browsing-withot-buying" (did you mean "browsing-without-buying"?): ${EXPECTED}`,
      `wf/journeys.d/pick.yaml:10:22  steps[1].branch[0].when.tag: unknown tag "no-such-tag": ${EXPECTED}`,
      `wf/journeys.d/vips.yaml:5:31  audience.tags.include[0]: unknown tag "vipp" (did you mean "vip"?): ${EXPECTED}`,
      '3 problems in 3 files; checked 3 journeys, 12 templates, tags.yaml and segmentation.config.yaml in wf',
    ]);
  });

  it('warns at an SMS send that deploying it needs an SMS origination identity, and how to give it, unless cdk.json gives one', async () => {
    const text = journey('remind', 'trigger: { event: Signed Up }', ['  - id: text-them', '    send: { channel: sms, template: sms-reminder }']);
    const cwd = workflows('sms-undeployable', TAGS, { remind: text });
    writeFileSync(join(cwd, 'wf', 'templates', 'sms-reminder.sms.liquid'), 'Hello {{ profile.traits.firstName }}');
    const before = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(before.code, before.stdout).toBe(0);
    expect(lines(before.stdout)[0]).toBe(
      'wf/journeys.d/remind.yaml:7:22  warning: steps[0].send.channel: sends SMS: deploying it to AWS needs an SMS origination identity: npx cdk deploy -c smsOriginationIdentity=arn:aws:sms-voice:<region>:<account>:phone-number/<id> (or "smsOriginationIdentity" under context in cdk.json, or the sms prop of the Rapport construct); the embedded engine needs none',
    );

    writeFileSync(join(cwd, 'cdk.json'), JSON.stringify({ app: 'x', context: { smsOriginationIdentity: 'arn:aws:sms-voice:eu-west-1:123456789012:phone-number/phone-1' } }));
    const after = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(after.code).toBe(0);
    expect(lines(after.stdout)).toEqual(['ok: 1 journey, 13 templates, 2 tag rules and the segmentation config in wf are valid']);
  });

  it('accepts a CRM tag once tags.yaml declares it under manualTags', async () => {
    const text = journey('gold', 'trigger: { event: Tag Added, where: { tag: [crm-gold] } }');
    const before = await cliInProcess(['validate', '--config', 'wf'], { cwd: workflows('manual-undeclared', TAGS, { gold: text }) });
    expect(before.code).toBe(1);
    expect(lines(before.stdout)[0]).toMatch(/^wf\/journeys\.d\/gold\.yaml:4:45 {2}trigger\.where\.tag\[0\]: unknown tag "crm-gold": /);

    const declared = `${TAGS}manualTags:\n  - name: crm-gold\n    description: Gold customers, set by the CRM\n`;
    const after = await cliInProcess(['validate', '--config', 'wf'], { cwd: workflows('manual-declared', declared, { gold: text }) });
    expect(after.code, after.stdout).toBe(0);
    expect(lines(after.stdout)).toEqual(['ok: 1 journey, 12 templates, 2 tag rules and the segmentation config in wf are valid']);
  });

  it('compile and graph refuse what validate refuses; graph counts a tag another journey of the folder adds', async () => {
    const cwd = workflows('compile-graph', TAGS, {
      vips: journey('vips', 'trigger: { event: Signed Up }\naudience: { tags: { include: [vipp] } }'),
      mark: journey('mark', 'trigger: { event: Signed Up }', ['  - id: mark', '    tag: { add: contacted }']),
      thanks: journey('thanks', 'trigger: { event: Tag Added, where: { tag: [contacted] } }'),
    });
    const problem = /^wf\/journeys\.d\/vips\.yaml:5:31 {2}audience\.tags\.include\[0\]: unknown tag "vipp" \(did you mean "vip"\?\)/;
    const [compiled, graphed, other] = await Promise.all([
      cliInProcess(['compile', '--config', 'wf', '--out', 'out'], { cwd }),
      cliInProcess(['graph', 'vips', '--config', 'wf'], { cwd }),
      cliInProcess(['graph', 'thanks', '--config', 'wf'], { cwd }),
    ]);
    expect(compiled.code).toBe(1);
    expect(lines(compiled.stderr)[0]).toMatch(problem);
    expect(existsSync(join(cwd, 'out'))).toBe(false);
    expect(graphed.code).toBe(1);
    expect(lines(graphed.stderr)[0]).toMatch(problem);
    expect(other.code, other.stderr).toBe(0);
  });

  it('names the templates folder of --config in a missing-template error', async () => {
    const cwd = workflows('template', TAGS, { hello: journey('hello', 'trigger: { event: Signed Up }', ['  - id: hello', '    send: { channel: email, template: welcom }']) });
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code).toBe(1);
    expect(lines(result.stdout)[0]).toMatch(/^wf\/journeys\.d\/hello\.yaml:7:\d+ {2}steps\[0\]\.send\.template: no email template "welcom": expected a file wf\/templates\/welcom\.email\.liquid \(email templates: /);
  });
});

describe('rapport validate: conditions and template variables', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  /** A config folder `wf` under `name`: the shipped templates and segmentation config, plus the given files. */
  function workflows(name: string, files: { tags?: string; journeys?: Record<string, string>; templates?: Record<string, string> }): string {
    const cwd = join(tmp, name);
    mkdirSync(join(cwd, 'wf', 'journeys.d'), { recursive: true });
    cpSync(join(ROOT, 'workflows', 'templates'), join(cwd, 'wf', 'templates'), { recursive: true });
    writeFileSync(join(cwd, 'wf', 'segmentation.config.yaml'), '');
    writeFileSync(join(cwd, 'wf', 'tags.yaml'), files.tags ?? 'tags: []\n');
    for (const [id, text] of Object.entries(files.journeys ?? {})) writeFileSync(join(cwd, 'wf', 'journeys.d', `${id}.yaml`), text);
    for (const [file, text] of Object.entries(files.templates ?? {})) writeFileSync(join(cwd, 'wf', 'templates', file), text);
    return cwd;
  }
  const journey = (id: string, trigger: string, steps: string[]) => [`id: ${id}`, `name: ${id}`, 'version: 1', `trigger: ${trigger}`, 'steps:', ...steps, ''].join('\n');

  it('refuses an invalid pattern in a branch condition and in a tag rule, at file:line:col', async () => {
    const cwd = workflows('bad-condition-pattern', {
      tags: ['tags:', '  - name: sofa-buyer', '    when: { event: Order Completed, where: { products: { category: [{ prefix: 3 }] } } }', ''].join('\n'),
      journeys: {
        sofa: journey('sofa', '{ event: Order Completed }', [
          '  - id: pick',
          '    branch:',
          '      - when: { event: Order Completed, where: { products: { category: sofa } } }',
          '        next: end',
          '      - else: end',
        ]),
      },
    });
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code, result.stdout).toBe(1);
    expect(lines(result.stdout)).toEqual([
      'wf/journeys.d/sofa.yaml:8:72  steps[0].branch[0].when.where.products.category: must be an array of values (e.g. ["a"] or [{"prefix": "a"}]) or a nested object, got "sofa"',
      'wf/tags.yaml:3:69  tags[0].when.where.products.category[0]: prefix operator expects a string or {"equals-ignore-case": "..."}, got 3',
      expect.stringMatching(/^2 problems in 2 files/),
    ]);
  });

  it('refuses a template reading trigger.complaintId in a journey started by Order Completed, at the variable', async () => {
    const steps = ['  - id: tell', '    send: { channel: email, template: complaint-received, kind: transactional }'];
    const cwd = workflows('unknown-trigger-property', { journeys: { orders: journey('orders', '{ event: Order Completed }', steps) } });
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code, result.stdout).toBe(1);
    const message = 'unknown variable "trigger.complaintId": journey "orders" starts with "Order Completed", whose properties are orderId, checkoutId, revenue, total, value, subtotal, currency;';
    expect(lines(result.stdout)).toEqual([
      expect.stringContaining(`wf/templates/complaint-received.email.liquid:1:46  (template): ${message}`),
      expect.stringContaining(`wf/templates/complaint-received.email.liquid:6:37  (template): ${message}`),
      expect.stringContaining(`wf/templates/complaint-received.email.liquid:14:124  (template): ${message}`),
      expect.stringMatching(/^3 problems in 1 file; checked 1 journey/),
    ]);

    // The same template is right for a journey its trigger feeds.
    const fed = workflows('known-trigger-property', { journeys: { complaints: journey('complaints', '{ event: Complaint Filed }', steps) } });
    const ok = await cliInProcess(['validate', '--config', 'wf'], { cwd: fed });
    expect(ok.code, ok.stdout).toBe(0);
  });

  it('checks every locale variant: one that fails to parse, one reading a variable the journey cannot give, one without a default file, a webhook with a locale', async () => {
    const cwd = workflows('locale-variants', {
      journeys: { orders: journey('orders', '{ event: Order Completed }', ['  - id: tell', '    send: { channel: email, template: order-note }']) },
      templates: {
        'order-note.email.liquid': 'Subject: Your order {{ trigger.orderId }}\n\nThanks.\n',
        // Fine: a variant may read what the default reads, and anything the journey gives.
        'order-note.fr.email.liquid': 'Subject: Votre commande {{ trigger.orderId }}\n\nMerci {{ profile.traits.name }}.\n',
        'order-note.de.email.liquid': 'Subject: Ihre Bestellung\n\nDanke {{ profile.traits.name | upcase }\n',
        'order-note.zh-CN.email.liquid': 'Subject: 您的订单\n\n谢谢 {{ trigger.complaintId }}\n',
        'receipt.fr.email.liquid': 'Subject: Reçu\n\nMerci.\n',
        'support-ticket.fr.webhook.liquid': '{"ticket": true}\n',
      },
    });
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code, result.stdout).toBe(1);
    expect(lines(result.stdout)).toEqual([
      expect.stringMatching(/^wf\/templates\/order-note\.de\.email\.liquid:3:7 {2}\(template\): Liquid: /),
      expect.stringContaining('wf/templates/order-note.zh-CN.email.liquid:3:7  (template): unknown variable "trigger.complaintId": journey "orders" starts with "Order Completed"'),
      'wf/templates/receipt.fr.email.liquid:1:1  (template): a locale variant needs its default file receipt.email.liquid: a customer with another locale (or none) would get no message',
      'wf/templates/support-ticket.fr.webhook.liquid:1:1  (template): a webhook body goes to a system, not a customer: it has no locale variants; rename it support-ticket.webhook.liquid or render the locale into the body ({{ profile.traits.locale | json }})',
      expect.stringMatching(/^4 problems in 4 files; checked 1 journey/),
    ]);
  });

  it('refuses a profile field templates never see, and accepts profile.tags and a trigger property with a default', async () => {
    const cwd = workflows('profile-fields', {
      journeys: { orders: journey('orders', '{ event: Order Completed }', ['  - id: tell', '    send: { channel: email, template: order-note }']) },
      templates: {
        'order-note.email.liquid': 'Subject: Your order {{ trigger.orderId }}\n\nTags: {{ profile.tags | join: ", " }}; coupon {{ trigger.coupon | default: "none" }}.\nConsent: {{ profile.consent.email.status }}\n',
      },
    });
    const result = await cliInProcess(['validate', '--config', 'wf'], { cwd });
    expect(result.code, result.stdout).toBe(1);
    expect(lines(result.stdout)).toEqual([
      'wf/templates/order-note.email.liquid:4:13  (template): unknown variable "profile.consent" (journey "orders"): profile has id, traits, stats, lifecycleStage, rfm, tags, firstSeenAt, lastSeenAt',
      expect.stringMatching(/^1 problem in 1 file/),
    ]);
  });
});
