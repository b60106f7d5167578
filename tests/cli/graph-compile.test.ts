import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { brokenWorkflows } from './fixtures';
import { CHILD_PROCESS_TIMEOUT, cliInProcess, lines, ROOT } from './helpers';

/** `rapport graph` (Mermaid) and `rapport compile` (ASL and rule patterns for review). In process (`run()`, what the bin calls; the bin itself is usage.test.ts's). */

const tmp = mkdtempSync(join(tmpdir(), 'rapport-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('rapport graph', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('prints the Mermaid diagram of a journey: graph TD, every step named', async () => {
    const result = await cliInProcess(['graph', 'welcome']);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('graph TD\n')).toBe(true);
    const journey = parse(readFileSync(join(ROOT, 'workflows', 'journeys.d', 'welcome.yaml'), 'utf8')) as { steps: Array<{ id: string }> };
    for (const { id } of journey.steps) expect(result.stdout).toContain(`"${id}<br/>`);
    expect(result.stdout).toContain('goal: Order Completed');
  });

  it('wraps the diagram in a mermaid code block with --markdown', async () => {
    const [plain, markdown] = await Promise.all([cliInProcess(['graph', 'welcome']), cliInProcess(['graph', 'welcome', '--markdown'])]);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toBe(`\`\`\`mermaid\n${plain.stdout}\`\`\`\n`);
  });

  it('takes the path of a journey file too', async () => {
    const result = await cliInProcess(['graph', 'workflows/journeys.d/win-back.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^graph TD\n {2}trigger\(\["Customer Became Inactive"\]\)/);
  });

  it('exits 1 with the reason for an unknown or a broken journey', async () => {
    const unknown = await cliInProcess(['graph', 'onboarding']);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^unknown journey "onboarding" in workflows\/journeys\.d: expected one of .*welcome/);

    const broken = await cliInProcess(['graph', 'no-timeout', '--config', 'wf'], { cwd: brokenWorkflows(tmp) });
    expect(broken).toMatchObject({ code: 1, stdout: '' });
    expect(lines(broken.stderr)).toEqual([
      'wf/journeys.d/no-timeout.yaml:9:15  steps[1].wait_for.timeout: wait_for needs a timeout, such as "7d": a journey cannot wait forever',
      '1 problem in 1 file',
    ]);
  });
});

describe('rapport compile', { timeout: CHILD_PROCESS_TIMEOUT }, () => {
  it('writes <id>.asl.json and <id>.rules.json per journey, and prints the transitions per path', async () => {
    const out = join(tmp, 'build');
    const result = await cliInProcess(['compile', '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const ids = readdirSync(join(ROOT, 'workflows', 'journeys.d')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace('.yaml', ''));
    expect(readdirSync(out).sort()).toEqual(ids.flatMap((id) => [`${id}.asl.json`, `${id}.rules.json`]).sort());
    for (const id of ids) {
      const asl = JSON.parse(readFileSync(join(out, `${id}.asl.json`), 'utf8')) as { StartAt: string; States: Record<string, { Parameters?: { FunctionName?: string } }> };
      expect(asl.States[asl.StartAt]).toBeDefined();
      expect(Object.values(asl.States).filter((s) => s.Parameters).every((s) => s.Parameters!.FunctionName === 'arn:aws:lambda:REGION:ACCOUNT_ID:function:rapport-steps')).toBe(true);
      const rules = JSON.parse(readFileSync(join(out, `${id}.rules.json`), 'utf8')) as Record<string, unknown>;
      expect(rules).toMatchObject({ journeyId: id, triggerPatterns: [expect.objectContaining({ 'detail-type': expect.any(Array) })], goalPatterns: expect.any(Array), exitPatterns: expect.any(Array) });
      expect(result.stdout).toContain(`${id} v1: ${out}/${id}.asl.json, ${out}/${id}.rules.json`);
    }
    expect(result.stdout).toContain('  2 paths, 9-11 state transitions per run ($0.225-$0.275 per 1,000 runs)');
    expect(result.stdout).toContain('   9  send-welcome > send-welcome.route > wait-a-day > send-getting-started > send-getting-started.route > wait-two-days > check-first-order > check-first-order.route > End');
    expect(lines(result.stdout).at(-1)).toBe(`compiled ${ids.length} journeys into ${out}`);
  });

  it('uses --step-function-arn, and writes relative --out under the current folder', async () => {
    const cwd = join(tmp, 'arn');
    mkdirSync(cwd);
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:rapport-steps';
    const result = await cliInProcess(['compile', '--config', join(ROOT, 'workflows'), '--step-function-arn', arn], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('welcome v1: build/journeys/welcome.asl.json, build/journeys/welcome.rules.json');
    expect(readFileSync(join(cwd, 'build', 'journeys', 'welcome.asl.json'), 'utf8')).toContain(arn);
    expect((await cliInProcess(['compile', '--step-function-arn', 'rapport-steps'], { cwd })).code).toBe(2);
  });

  it('writes nothing and exits 1 when a journey has a problem', async () => {
    const cwd = brokenWorkflows(tmp);
    const result = await cliInProcess(['compile', '--config', 'wf', '--out', 'out'], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('wf/journeys.d/no-timeout.yaml:9:15  steps[1].wait_for.timeout: wait_for needs a timeout');
    expect(existsSync(join(cwd, 'out'))).toBe(false);
  });
});
