import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INGEST_PATHS } from '../../functions/ingest';
import { BROADCASTS, FEEDBACK, INGEST, JOURNEYS, PROFILE } from '../../infra/cdk/defaults';
import { SIMULATED_SES } from '../../infra/embedded/outbox';
import { defaultSweepEveryMs, type Engine } from '../../infra/embedded/engine';
import {
  PROFILE_TABLE_GRANTS,
  RAPPORT_FUNCTIONS,
  rapportBusRules,
  ROUTES,
  routesOf,
  RUN_ENDED,
  SCHEDULES,
  sesFeedbackRule,
  type RapportApi,
  type RapportFunctionId,
} from '../../infra/topology';
import { PROFILE_TABLE_LAYOUT, systemClock } from '../../shared';
import { startTestEngine } from '../helpers/engine';
import { functionIdByService, JOURNEYS_DIR, rolePolicyStatements, synthRapport, TEMPLATES_DIR, TEST_CONFIG_DIR, type PolicyStatement } from './synth';

/**
 * One topology, two homes: every route, bus rule and schedule of infra/topology exists
 * in the synthesized template and in a running embedded engine, entry by entry (never
 * by count), and every profile table grant is the function's role in the template.
 */

/** The Powertools service name of each function: how a test finds it in the template. */
const SERVICE: Record<RapportFunctionId, string> = {
  ingest: INGEST.serviceName,
  profileConsumer: PROFILE.consumer.serviceName,
  sweep: PROFILE.sweep.serviceName,
  customerApi: PROFILE.customerApi.serviceName,
  journeyStep: JOURNEYS.step.serviceName,
  journeyStarter: JOURNEYS.starter.serviceName,
  journeyRunEnded: JOURNEYS.runEnded.serviceName,
  sesFeedback: FEEDBACK.serviceName,
  broadcastApi: BROADCASTS.api.serviceName,
  broadcastPage: BROADCASTS.page.serviceName,
};

type Resource = { Type: string; Properties: Record<string, unknown> };

// Prepare: the stack the other infra tests build, and an engine on the same journeys and config.
const { template, stack } = synthRapport({ stageName: 'dev' }, { bundle: false });
const resources = template.toJSON().Resources as Record<string, Resource>;
const functionIds = Object.fromEntries(RAPPORT_FUNCTIONS.map((fn) => [fn, functionIdByService(template, SERVICE[fn])])) as Record<RapportFunctionId, string>;
const functionOfLogicalId = (logicalId: string): RapportFunctionId | undefined => RAPPORT_FUNCTIONS.find((fn) => functionIds[fn] === logicalId);
const arnTarget = (arn: unknown): RapportFunctionId | undefined => {
  const getAtt = (arn as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
  return getAtt === undefined ? undefined : functionOfLogicalId(getAtt[0]);
};
const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);
const API_IDS: Record<RapportApi, string> = {
  ingest: stack.getLogicalId(stack.rapport.httpApi.node.defaultChild as never),
  customers: stack.getLogicalId(stack.rapport.customerApi.node.defaultChild as never),
};
const busId = stack.getLogicalId(stack.rapport.bus.node.defaultChild as never);

let engine: Engine;
beforeAll(async () => {
  engine = await startTestEngine({ configDir: TEST_CONFIG_DIR, journeysDir: JOURNEYS_DIR, templatesDir: TEMPLATES_DIR, sweepEveryMs: 0 });
});
afterAll(() => engine.stop());

describe('routes', () => {
  it.each(['ingest', 'customers'] as const)('of the %s API are the topology routes, each to its function, in the template', (api) => {
    // Act
    const deployed = ofType('AWS::ApiGatewayV2::Route')
      .filter(([, route]) => (route.Properties.ApiId as { Ref: string }).Ref === API_IDS[api])
      .map(([, route]) => {
        const integrationId = (route.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] })['Fn::Join'][1][1].Ref;
        return { key: route.Properties.RouteKey as string, target: arnTarget(resources[integrationId]?.Properties.IntegrationUri) };
      });
    // Assess
    const expected = routesOf(api).map((route) => ({ key: `${route.method} ${route.path}`, target: route.target }));
    expect(deployed.sort((a, b) => a.key.localeCompare(b.key))).toEqual(expected.sort((a, b) => a.key.localeCompare(b.key)));
  });

  it('of the ingest API are the paths the ingest service answers (INGEST_PATHS)', () => {
    expect([...new Set(routesOf('ingest').map((route) => route.path))].sort()).toEqual([...INGEST_PATHS].sort());
  });

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))('%s reaches its function in the embedded engine', async (_key, route) => {
    // Act: a request the function refuses or answers, but the function and not the engine's fallback.
    const response = await fetch(`${engine.url}${route.path.replaceAll(/\{[^}]+\}/g, 'topology-probe')}`, {
      method: route.method,
      ...(route.method === 'POST' && { headers: { 'content-type': 'application/json' }, body: '{}' }),
    });
    const body = await response.text(); // JSON, or the unsubscribe page's HTML
    // Assess
    expect(body, `${route.method} ${route.path}: ${response.status}`).not.toContain('"message":"nothing at ');
  });

  it('a path outside the topology reaches no function in the engine (as the HTTP API answers 404)', async () => {
    const response = await fetch(`${engine.url}/v1/not-a-route`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { message: string }).message).toMatch(/^nothing at /);
  });
});

describe('bus rules', () => {
  it('on the Rapport bus are the topology rules, each pattern to its function, in the template', () => {
    // Act
    const deployed = ofType('AWS::Events::Rule')
      .filter(([, rule]) => (rule.Properties.EventBusName as { Ref?: string } | undefined)?.Ref === busId)
      .map(([, rule]) => ({
        pattern: JSON.stringify(rule.Properties.EventPattern),
        targets: (rule.Properties.Targets as { Arn: unknown }[]).map((target) => arnTarget(target.Arn)),
      }));
    // Assess
    const expected = rapportBusRules(stack.rapport.journeys).map((rule) => ({ pattern: JSON.stringify(rule.pattern), targets: [rule.target] }));
    const byPattern = (a: { pattern: string }, b: { pattern: string }) => a.pattern.localeCompare(b.pattern);
    expect(deployed.sort(byPattern)).toEqual(expected.sort(byPattern));
  });

  it('on the embedded bus are the same topology rules, by name and pattern', () => {
    // Act
    const subscribed = engine.bus.rules.map((rule) => ({ name: rule.name, pattern: JSON.stringify(rule.pattern) }));
    // Assess: the same journeys in both homes, and the same rules for them.
    expect(engine.journeys.compiled.map((journey) => journey.id)).toEqual(stack.rapport.journeys.map((journey) => journey.id));
    const expected = [...rapportBusRules(engine.journeys.compiled), sesFeedbackRule(SIMULATED_SES.configurationSet)].map((rule) => ({ name: rule.engineName, pattern: JSON.stringify(rule.pattern) }));
    expect(subscribed.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
  });

  it('for the ends of runs is on the default bus, to the run-ended function, for the topology end statuses', () => {
    const [[, rule] = []] = ofType('AWS::Events::Rule').filter(([id]) => id.startsWith(`Rapport${RUN_ENDED.id}`));
    expect(rule?.Properties.EventBusName).toBeUndefined(); // the account's default bus
    const pattern = rule?.Properties.EventPattern as { source: string[]; 'detail-type': string[]; detail: { status: string[] } };
    expect(pattern.source).toEqual([RUN_ENDED.source]);
    expect(pattern['detail-type']).toEqual([RUN_ENDED.detailType]);
    expect(pattern.detail.status).toEqual([...RUN_ENDED.endStatuses]);
    expect((rule?.Properties.Targets as { Arn: unknown }[]).map((target) => arnTarget(target.Arn))).toEqual([RUN_ENDED.target]);
  });
});

describe('the SES feedback rule', () => {
  it("is on the default bus, to the feedback function, with the topology pattern for the stage's configuration set", () => {
    const spec = sesFeedbackRule(stack.rapport.emailConfigurationSetName);
    const [[, rule] = []] = ofType('AWS::Events::Rule').filter(([id]) => id.startsWith(`Rapport${spec.id}`));
    expect(rule?.Properties.EventBusName).toBeUndefined(); // SES publishes to the account's default bus only
    expect(rule?.Properties.EventPattern).toEqual(spec.pattern);
    expect((rule?.Properties.Targets as { Arn: unknown }[]).map((target) => arnTarget(target.Arn))).toEqual([spec.target]);
  });

  it('is on the embedded bus with the same pattern, for the configuration set its simulated SES events name', () => {
    const spec = sesFeedbackRule(SIMULATED_SES.configurationSet);
    expect(engine.bus.rules.find((rule) => rule.name === spec.engineName)?.pattern).toEqual(spec.pattern);
  });
});

describe('schedules', () => {
  it('are the topology schedules, each cron to its function, in the template', () => {
    const deployed = ofType('AWS::Scheduler::Schedule').map(([, schedule]) => ({
      expression: schedule.Properties.ScheduleExpression,
      timeZone: schedule.Properties.ScheduleExpressionTimezone,
      target: arnTarget((schedule.Properties.Target as { Arn: unknown }).Arn),
    }));
    const expected = SCHEDULES.map((spec) => ({ expression: `cron(${spec.cron.minute} ${spec.cron.hour} * * ? *)`, timeZone: spec.cron.timeZone, target: spec.target }));
    expect(deployed).toEqual(expected);
  });

  it('run in the engine at the period of their cron (daily)', () => {
    for (const spec of SCHEDULES) {
      expect(spec.everyMs, spec.id).toBe(86_400_000); // a fixed minute and hour, every day
      expect(defaultSweepEveryMs(systemClock)).toBe(spec.everyMs);
    }
  });
});

describe('grants', () => {
  it.each(Object.entries(PROFILE_TABLE_GRANTS))('of %s on the profile table are the topology grants, in the template', (fn, access) => {
    // Prepare
    const tableArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.rapport.profileTable.node.defaultChild as never), 'Arn'] };
    const roleId = (resources[functionIds[fn as RapportFunctionId]]?.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements: PolicyStatement[] = rolePolicyStatements(template, roleId);
    // Act
    const onTable = statements.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(tableArn) && !('Condition' in s));
    const onIndexes = statements.filter((s) => JSON.stringify(s.Resource).includes('/index/'));
    // Assess
    expect(onTable.flatMap((s) => [s.Action].flat()).sort()).toEqual([...access!.table].sort());
    // The email index (GSI3) only with `emailIndex`: Query alone for a function that reads no other index.
    const indexActions = access!.indexes.length > 0 ? access!.indexes : access!.emailIndex ? ['dynamodb:Query'] : [];
    expect(onIndexes.flatMap((s) => [s.Action].flat()).sort()).toEqual([...indexActions].sort());
    expect(onIndexes.some((s) => JSON.stringify(s.Resource).includes(`/index/${PROFILE_TABLE_LAYOUT.emailIndex.name}`))).toBe(access!.emailIndex === true);
  });

  it.each([
    // The profile consumer counts pairs (countOnce: UpdateItem), reads a pair's count and rewrites a top list under its version.
    ['profileConsumer', ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem']],
    // A send's recommendations and a branch on them read the top lists at once.
    ['journeyStep', ['dynamodb:BatchGetItem']],
    ['broadcastPage', ['dynamodb:BatchGetItem']],
  ] as const)("of %s cover the cross-sell's calls on the profile table, in the template (CoPurchaseStore)", (fn, actions) => {
    const tableArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.rapport.profileTable.node.defaultChild as never), 'Arn'] };
    const roleId = (resources[functionIds[fn]]?.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const granted = rolePolicyStatements(template, roleId)
      .filter((s) => JSON.stringify(s.Resource) === JSON.stringify(tableArn) && !('Condition' in s) && s.Effect !== 'Deny')
      .flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => !granted.includes(a))).toEqual([]);
  });
});
