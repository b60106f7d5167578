import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RapportStack } from '../../infra/cdk/rapport-stack';
import { ENV } from '../../shared/config/env';
import { newApp, renderText, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

/**
 * Top-level properties that name a resource only inside its parent, so equal values cannot clash,
 * or that name something else than the resource (an alarm's `MetricName` is the metric it watches); by type where
 * the property is scoped for one type only (a journey's alias `live` is named within its state machine: its ARN is
 * the machine's plus `:live`).
 */
const SCOPED_NAME_PROPERTIES = new Set(['StageName', 'PolicyName', 'MetricName', 'AWS::StepFunctions::StateMachineAlias.Name']);

/** `Type.Property=value` for every literal, top-level `*Name` property: the physical names a template sets. */
function physicalNames(template: Template): Set<string> {
  const names = new Set<string>();
  for (const resource of Object.values(template.toJSON().Resources) as { Type: string; Properties?: object }[]) {
    for (const [key, value] of Object.entries(resource.Properties ?? {})) {
      if (key.endsWith('Name') && !SCOPED_NAME_PROPERTIES.has(key) && !SCOPED_NAME_PROPERTIES.has(`${resource.Type}.${key}`) && typeof value === 'string') {
        names.add(`${resource.Type}.${key}=${value}`);
      }
    }
  }
  return names;
}

describe('dev and prod in one app and one account', () => {
  // Prepare
  const app = newApp({ bundle: false }); // names only: the bundles are checked elsewhere
  const dev = new RapportStack(app, 'Rapport-dev', { stageName: 'dev', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY });
  const prod = new RapportStack(app, 'Rapport-prod', { stageName: 'prod', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY });

  it('synthesise side by side', () => {
    const assembly = app.synth();

    expect(assembly.stacks.map((stack) => stack.stackName).sort()).toEqual(['Rapport-dev', 'Rapport-prod']);
  });

  it('set no physical name twice', () => {
    const devNames = physicalNames(Template.fromStack(dev));
    const prodNames = physicalNames(Template.fromStack(prod));

    expect(devNames.size).toBeGreaterThan(0);
    expect([...devNames].filter((name) => prodNames.has(name))).toEqual([]);
  });

  it('leave account-unique names to CloudFormation, or put the stage in them', () => {
    for (const [stage, stack] of [['dev', dev], ['prod', prod]] as const) {
      const template = Template.fromStack(stack);
      for (const [type, property] of [
        ['AWS::DynamoDB::GlobalTable', 'TableName'],
        ['AWS::SQS::Queue', 'QueueName'],
        ['AWS::SecretsManager::Secret', 'Name'],
        ['AWS::Lambda::Function', 'FunctionName'],
        ['AWS::Logs::LogGroup', 'LogGroupName'],
        ['AWS::IAM::Role', 'RoleName'],
        ['AWS::Events::Archive', 'ArchiveName'],
        ['AWS::Events::Rule', 'Name'],
        ['AWS::Scheduler::Schedule', 'Name'],
        ['AWS::SNS::Topic', 'TopicName'],
        ['AWS::CloudWatch::Alarm', 'AlarmName'],
        ['AWS::KMS::Alias', 'AliasName'],
      ]) {
        for (const resource of Object.values(template.findResources(type as string))) {
          expect(resource.Properties?.[property as string], `${stage} ${type}.${property}`).toBeUndefined();
        }
      }
      const bus = Object.values(template.findResources('AWS::Events::EventBus'))[0];
      expect(bus?.Properties.Name).toMatch(new RegExp(`^Rapport${stage}`));
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: `rapport-${stage}-ingest` });
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: `rapport-${stage}-customers` });
      // Dashboard names are unique per account, across regions: the stage and the region are in it.
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: { 'Fn::Join': ['', [`Rapport-${stage}-`, { Ref: 'AWS::Region' }]] },
      });
    }
  });

  it('give every function its stage in RAPPORT_STAGE (the stage dimension of its metrics)', () => {
    for (const [stage, stack] of [['dev', dev], ['prod', prod]] as const) {
      const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
      expect(functions).toHaveLength(10); // ingest, profile consumer, sweep, customer API, starter, step, run ended, SES feedback, broadcast API and page
      for (const fn of functions) expect(fn.Properties.Environment.Variables[ENV.STAGE], fn.Properties.Description).toBe(stage);
    }
  });

  it("graph each stage's own custom metrics on its dashboard: dimensions service and stage", () => {
    const widgetsOf = (stack: RapportStack) => {
      const dashboard = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'))[0];
      return (JSON.parse(renderText(dashboard?.Properties.DashboardBody)) as { widgets: { properties: { metrics?: unknown[][] } }[] }).widgets;
    };
    for (const [stage, other, stack] of [['dev', 'prod', dev], ['prod', 'dev', prod]] as const) {
      const metrics = widgetsOf(stack).flatMap((widget) => widget.properties.metrics ?? []);
      // [namespace, name, dimension, value, ...] rows of the Powertools metrics (namespace Rapport).
      const custom = metrics.filter((row) => row[0] === 'Rapport');
      const searches = metrics.flatMap((row) => row.filter((cell): cell is { expression: string } => typeof cell === 'object' && cell !== null && 'expression' in cell));
      const dimensionsOf = (row: unknown[]) => {
        const pairs = row.slice(2).filter((cell) => typeof cell === 'string') as string[];
        return Object.fromEntries(pairs.flatMap((cell, i) => (i % 2 === 0 ? [[cell, pairs[i + 1]]] : [])));
      };

      expect(custom.map((row) => row[1])).toEqual(expect.arrayContaining(['EventsAccepted', 'ProfileUpdates', 'JourneyEnrolments', 'GoalConversions']));
      for (const row of custom) expect(dimensionsOf(row), `${stage} ${String(row[1])}`).toEqual({ service: expect.stringMatching(/^rapport-/), stage });
      const sends = searches.filter((search) => search.expression.includes('MetricName="Sends"'));
      expect(sends.map((search) => search.expression)).toEqual([
        `SEARCH('{Rapport,channel,service,stage,status} MetricName="Sends" stage="${stage}"', 'Sum', 300)`,
      ]);
      expect(JSON.stringify(metrics)).not.toContain(`"${other}"`);
    }
  });
});
