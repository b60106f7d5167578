import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, expect } from 'vitest';
import type { RapportProps } from '../../infra/cdk/rapport';
import { RapportStack, type RapportStackProps } from '../../infra/cdk/rapport-stack';

/**
 * Synth must never shell out to Docker (CDK falls back to it when local esbuild
 * is missing). Pointing CDK at a binary that does not exist turns any attempt
 * into a test failure instead of a slow, network-bound build.
 */
process.env.CDK_DOCKER = '/nonexistent/docker-must-not-run';

/**
 * Cloud assemblies (with ~2 MB bundles each) go under one folder per test file, made when the file first
 * synthesises and removed when it ends. The `cdk` project shares this module between the files of a worker
 * (isolate: false), where this `afterAll` belongs to the first file only: its setup file
 * (tests/infra/setup-shared-worker.ts) removes the folder after each file.
 */
let assemblyRoot: string | undefined;
function assemblyFolder(): string {
  assemblyRoot ??= mkdtempSync(path.join(tmpdir(), 'rapport-infra-test-'));
  return assemblyRoot;
}
/** Remove this test file's cloud assemblies; the next synth makes a new folder. */
export function removeAssemblies(): void {
  if (assemblyRoot !== undefined) rmSync(assemblyRoot, { recursive: true, force: true });
  assemblyRoot = undefined;
}
afterAll(removeAssemblies);

/** Holds tags.yaml and segmentation.config.yaml for the stacks the tests build (`configDir`). */
export const TEST_CONFIG_DIR = path.join(import.meta.dirname, 'fixtures', 'config');

/** The repository's journeys and templates: the stacks the tests build deploy them (the construct's defaults). */
export const JOURNEYS_DIR = path.join(import.meta.dirname, '..', '..', 'workflows', 'journeys.d');
export const TEMPLATES_DIR = path.join(import.meta.dirname, '..', '..', 'workflows', 'templates');

/**
 * Delivery settings of the stacks the tests build: what the repository's
 * journeys need (email, and the support and supervisor webhooks).
 */
export const TEST_DELIVERY = {
  email: { fromAddress: 'journeys@shop.example' },
  outboundWebhooks: {
    support: { url: 'https://help.shop.example/hooks/rapport' },
    supervisor: { url: 'https://help.shop.example/hooks/supervisor' },
  },
} satisfies Partial<RapportProps>;

export interface NewAppOptions {
  /**
   * Bundle the functions' code. Tests that look only at the template turn it off:
   * esbuild is the slow part of synth (about a second per function).
   *
   * @default true
   */
  readonly bundle?: boolean;
}

/** An app that synthesises into this test file's temporary folder. */
export function newApp(options: NewAppOptions = {}): App {
  return new App({
    outdir: mkdtempSync(path.join(assemblyFolder(), 'cdk.out-')),
    ...(options.bundle === false && { context: { 'aws:cdk:bundling-stacks': [] } }),
  });
}

export interface Synthesised {
  readonly app: App;
  readonly stack: RapportStack;
  readonly template: Template;
}

/**
 * Prepare: one app with one `Rapport-<stage>` stack, as `infra/cdk/app.ts` builds it,
 * with the config files of `TEST_CONFIG_DIR` and `TEST_DELIVERY` unless `props` says otherwise
 * (stack props too, e.g. `env`).
 * `options.extend` adds to the stack before it is synthesised (e.g. a role to grant to).
 */
export function synthRapport(
  props: Partial<RapportStackProps> = {},
  options: NewAppOptions & { readonly extend?: (stack: RapportStack) => void } = {},
): Synthesised {
  const app = newApp(options);
  const stageName = props.stageName ?? 'dev';
  const stack = new RapportStack(app, `Rapport-${stageName}`, { configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, ...props, stageName });
  options.extend?.(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id of the only resource of `type` (matching `props`): found, never hard-coded. */
export function onlyLogicalId(template: Template, type: string, props?: unknown): string {
  const ids = Object.keys(template.findResources(type, props));
  expect(ids, `exactly one ${type}`).toHaveLength(1);
  return ids[0] as string;
}

/**
 * Renders a CloudFormation string value as text, intrinsics as `<Ref:Id>` or
 * `<GetAtt:Id.Attr>`, so a `Fn::Join` that builds JSON can be parsed and compared.
 */
export function renderText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Ref' in v) return `<Ref:${String(v.Ref)}>`;
  if ('Fn::GetAtt' in v) return `<GetAtt:${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in v) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(renderText).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

export interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** The logical id of the Lambda function whose Powertools service name is `serviceName`. */
export function functionIdByService(template: Template, serviceName: string): string {
  return onlyLogicalId(template, 'AWS::Lambda::Function', {
    Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: serviceName } } },
  });
}

/** Every statement of the inline policies attached to the role of the Lambda function `functionId`. */
export function functionPolicyStatements(template: Template, functionId: string): PolicyStatement[] {
  const fn = template.toJSON().Resources[functionId] as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } };
  return rolePolicyStatements(template, fn.Properties.Role['Fn::GetAtt'][0]);
}

/** Every statement of the inline policies attached to the role `roleId`. */
export function rolePolicyStatements(template: Template, roleId: string): PolicyStatement[] {
  const policies = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
  );
  expect(policies.length).toBeGreaterThan(0);
  return policies.flatMap(
    (policy) => (policy.Properties as { PolicyDocument: { Statement: PolicyStatement[] } }).PolicyDocument.Statement,
  );
}

/**
 * The folder of the cloud assembly that holds the code asset of the Lambda
 * function `functionId`: what `cdk deploy` would zip and upload.
 */
export function functionAssetDir({ app, stack, template }: Synthesised, functionId: string): string {
  const assemblyDir = app.synth().directory;
  const s3Key = (template.toJSON().Resources[functionId] as { Properties: { Code: { S3Key: string } } }).Properties.Code.S3Key;
  const manifest = JSON.parse(readFileSync(path.join(assemblyDir, `${stack.artifactId}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
  };
  const asset = Object.values(manifest.files).find((file) =>
    Object.values(file.destinations).some((destination) => destination.objectKey === s3Key),
  );
  expect(asset, `code asset of ${functionId}`).toBeDefined();
  return path.join(assemblyDir, asset?.source.path ?? 'missing-asset');
}

export const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
