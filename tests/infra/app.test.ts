import { rmSync } from 'node:fs';
import type { App } from 'aws-cdk-lib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TEST_CONFIG_DIR } from './synth';

/**
 * Act: load the CDK app module as `cdk synth` runs it, with `-c` context passed
 * the way the CLI passes it (CDK_CONTEXT_JSON). Bundling is skipped here;
 * ingest-stack.test.ts and profile-stack.test.ts check the bundles. The config
 * files come from the test fixtures unless the context names a folder.
 */
const loaded: App[] = [];
async function loadApp(context: Record<string, unknown>): Promise<App> {
  vi.stubEnv('CDK_CONTEXT_JSON', JSON.stringify({ 'aws:cdk:bundling-stacks': [], configDir: TEST_CONFIG_DIR, ...context }));
  vi.resetModules();
  const module = await import('../../infra/cdk/app');
  loaded.push(module.app);
  return module.app;
}

afterEach(() => {
  vi.unstubAllEnvs();
  for (const app of loaded.splice(0)) rmSync(app.outdir, { recursive: true, force: true });
});

describe('infra/cdk/app.ts', () => {
  it('synthesises Rapport-dev without context', async () => {
    const app = await loadApp({});

    expect(app.synth().stacks.map((stack) => stack.stackName)).toEqual(['Rapport-dev']);
  });

  it('synthesises Rapport-prod with -c stage=prod', async () => {
    const app = await loadApp({ stage: 'prod' });

    expect(app.synth().stacks.map((stack) => stack.stackName)).toEqual(['Rapport-prod']);
  });

  it('runs cdk-nag during synth with -c nag=true, and the app passes it; subscribes -c alarmEmail=...', async () => {
    const app = await loadApp({ nag: 'true', alarmEmail: 'oncall@shop.example' });
    const assembly = app.synth(); // throws "Validation failed" on an unacknowledged finding
    const template = assembly.getStackByName('Rapport-dev').template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::SNS::Subscription').map((r) => r.Properties.Endpoint)).toEqual(['oncall@shop.example']);
  });

  it('takes the config files from -c configDir=..., and names the one that is missing', async () => {
    await expect(loadApp({ configDir: 'tests/infra/no-such-folder' })).rejects.toThrow(
      /configDir \S*tests\/infra\/no-such-folder is not a folder; it must hold tags\.yaml and segmentation\.config\.yaml/,
    );
  });

  it('puts the journeys in nested stacks with -c journeyStacks=<n>, and refuses a number it cannot use', async () => {
    const app = await loadApp({ journeyStacks: '2', nag: 'true' }); // cdk-nag passes the nested stacks too
    const template = app.synth().getStackByName('Rapport-dev').template as { Resources: Record<string, { Type: string }> };

    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack').length).toBeGreaterThan(0);
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachineAlias')).toEqual([]);
    await expect(loadApp({ journeyStacks: 'four' })).rejects.toThrow(
      'Invalid context -c journeyStacks=...: journeyStacks "four" must be a whole number from 1 (every journey in the stack itself) to 10',
    );
  });

  it('refuses a stage that cannot be part of resource names, saying why', async () => {
    await expect(loadApp({ stage: 'Prod_1' })).rejects.toThrow(
      'Invalid context -c stage=...: stageName "Prod_1" must be 1-32 lower-case letters',
    );
  });
});
