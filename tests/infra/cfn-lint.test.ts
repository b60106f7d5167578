import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { Rapport } from '../../infra/cdk/rapport';
import { newApp, synthRapport, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

/**
 * cfn-lint (AWS's CloudFormation linter) over the synthesized templates: zero findings,
 * warnings included, except those `cfn-lint.ignore.json` accepts with a reason. cfn-lint is
 * a Python tool the project does not install: when it is not on the PATH this test says so
 * and is skipped (CI runs it on machines that have it).
 */
const version = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const available = version.status === 0;
if (!available) console.warn('cfn-lint is not installed (pip install cfn-lint): tests/infra/cfn-lint.test.ts is skipped');

interface Finding {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Filename: string;
  readonly Location: { readonly Path: readonly (string | number)[] };
}
interface Ignore {
  readonly rule: string;
  readonly resourceTypes: readonly string[];
  readonly message: string;
  readonly reason: string;
}
const IGNORES = (JSON.parse(readFileSync(path.join(import.meta.dirname, 'cfn-lint.ignore.json'), 'utf8')) as { ignore: Ignore[] }).ignore;

const dir = mkdtempSync(path.join(tmpdir(), 'rapport-cfn-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The template of `stack`, synthesized by its app. */
const stackTemplate = (stack: Stack): unknown => (stack.node.root as ReturnType<typeof newApp>).synth().getStackArtifact(stack.artifactId).template;

/** The templates to lint: the default stage, everything optional turned on (key, SMS, sources, WAF), and no journeys. */
function templates(): Record<string, { Resources: Record<string, { Type: string }> }> {
  const loaded = new Stack(newApp({ bundle: false }), 'Rapport-kms', { env: { region: 'us-east-1' } });
  new Rapport(loaded, 'Rapport', {
    stageName: 'kms',
    configDir: TEST_CONFIG_DIR,
    ...TEST_DELIVERY,
    sources: [{ id: 'shop' }, { id: 'app', events: ['Order Completed'], traits: ['email'] }],
    email: { fromAddress: 'journeys@shop.example', configurationSet: 'rapport' },
    sms: { originationIdentity: 'arn:aws:sms-voice:us-east-1:123456789012:pool/pool-0123' },
    alarmEmail: 'oncall@shop.example',
    encryptionKey: new kms.Key(loaded, 'Key', { enableKeyRotation: true }),
    ingestFirewall: {},
  });
  const emptyJourneys = mkdtempSync(path.join(dir, 'journeys-'));
  // The journeys in nested stacks: the parent and each nested stack's template.
  const nested = synthRapport({ stageName: 'ns', journeyStacks: 3 }, { bundle: false });
  const nestedTemplates = Object.fromEntries(
    [...nested.stack.rapport.journeyNestedStacks].map(([id, nestedStack]) => [`Rapport-ns-${id}`, Template.fromStack(nestedStack).toJSON() as never]),
  );
  return {
    'Rapport-ns': nested.template.toJSON() as never,
    ...nestedTemplates,
    'Rapport-dev': synthRapport({ stageName: 'dev' }, { bundle: false }).template.toJSON() as never,
    'Rapport-kms': stackTemplate(loaded) as never,
    'Rapport-nojourneys': synthRapport({ stageName: 'nj', journeysDir: emptyJourneys }, { bundle: false }).template.toJSON() as never,
  };
}

const ignored = (finding: Finding, resourceType: string | undefined): Ignore | undefined =>
  IGNORES.find((ignore) => ignore.rule === finding.Rule.Id && resourceType !== undefined && ignore.resourceTypes.includes(resourceType) && finding.Message.includes(ignore.message));

describe('cfn-lint', () => {
  it('every ignored rule has a reason', () => {
    for (const ignore of IGNORES) expect(ignore.reason.length, ignore.rule).toBeGreaterThan(40);
  });

  it.skipIf(!available)(
    `finds nothing but the acknowledged findings in the synthesized templates (${available ? version.stdout.trim() : 'cfn-lint absent'})`,
    () => {
      // Prepare
      const byFile = new Map<string, { Resources: Record<string, { Type: string }> }>();
      for (const [name, template] of Object.entries(templates())) {
        const file = path.join(dir, `${name}.template.json`);
        writeFileSync(file, JSON.stringify(template, null, 1));
        byFile.set(file, template);
      }
      // Act: exit code 0 clean, otherwise a bit mask of error (2), warning (4) and informational (8) findings.
      const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...byFile.keys()], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      expect(run.status === 0 || (run.status !== null && run.status < 32), `cfn-lint failed to run: ${run.stderr}`).toBe(true);
      const findings = JSON.parse(run.stdout || '[]') as Finding[];
      // Assess
      const unacknowledged = findings
        .filter((finding) => {
          const [section, logicalId] = finding.Location.Path;
          const resourceType = section === 'Resources' ? byFile.get(finding.Filename)?.Resources[String(logicalId)]?.Type : undefined;
          return ignored(finding, resourceType) === undefined;
        })
        .map((finding) => `${finding.Rule.Id} ${path.basename(finding.Filename)} ${finding.Location.Path.join('/')}: ${finding.Message}`);
      expect(unacknowledged).toEqual([]);
    },
    180_000,
  );
});
