import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, expect } from 'vitest';
import type { RapportProps } from '../../infra/cdk/rapport';
import { RapportStack } from '../../infra/cdk/rapport-stack';

/**
 * Synth must never shell out to Docker (CDK falls back to it when local esbuild
 * is missing). Pointing CDK at a binary that does not exist turns any attempt
 * into a test failure instead of a slow, network-bound build.
 */
process.env.CDK_DOCKER = '/nonexistent/docker-must-not-run';

/** Cloud assemblies (with ~2 MB bundles each) go under one folder per test file, removed when it ends. */
const assemblyRoot = mkdtempSync(path.join(tmpdir(), 'rapport-infra-test-'));
afterAll(() => rmSync(assemblyRoot, { recursive: true, force: true }));

/** An app that synthesises into this test file's temporary folder. */
export function newApp(): App {
  return new App({ outdir: mkdtempSync(path.join(assemblyRoot, 'cdk.out-')) });
}

export interface Synthesised {
  readonly app: App;
  readonly stack: RapportStack;
  readonly template: Template;
}

/** Prepare: one app with one `Rapport-<stage>` stack, as `infra/cdk/app.ts` builds it. */
export function synthRapport(props: Partial<RapportProps> = {}): Synthesised {
  const app = newApp();
  const stageName = props.stageName ?? 'dev';
  const stack = new RapportStack(app, `Rapport-${stageName}`, { ...props, stageName });
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

/** Every statement of the inline policies attached to the role of the only Lambda function. */
export function functionPolicyStatements(template: Template): PolicyStatement[] {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(functions).toHaveLength(1);
  const role = (functions[0]?.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role;
  const roleId = role['Fn::GetAtt'][0];
  const policies = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } }),
  );
  expect(policies.length).toBeGreaterThan(0);
  return policies.flatMap(
    (policy) => (policy.Properties as { PolicyDocument: { Statement: PolicyStatement[] } }).PolicyDocument.Statement,
  );
}

export const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
