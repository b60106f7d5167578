/**
 * Broadcasts in the synthesized stack: the API and page functions, the Standard state machine whose Task
 * invokes the page function (the same definition the embedded engine runs, checked by asl-validator), the
 * page function's own lane (reserved concurrency), and the grants each function's code path uses.
 */
import aslValidator from 'asl-validator';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BROADCASTS } from '../../infra/cdk/defaults';
import { BROADCAST_ENV } from '../../shared/config/broadcast-env';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { broadcastDefinition } from '../../workflows/broadcasts';
import { asList, functionIdByService, functionPolicyStatements, onlyLogicalId, renderText, rolePolicyStatements, synthRapport, type PolicyStatement } from './synth';

// Prepare: the stack the other infra tests build.
const { template } = synthRapport({ stageName: 'dev' }, { bundle: false });
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const pageId = functionIdByService(template, BROADCASTS.page.serviceName);
const apiId = functionIdByService(template, BROADCASTS.api.serviceName);
const machineId = onlyLogicalId(template, 'AWS::StepFunctions::StateMachine', { Properties: { StateMachineName: 'Rapport-dev-broadcasts' } });
const actionsOn = (statements: PolicyStatement[], action: string) => statements.filter((s) => asList(s.Action).includes(action));
const machineArn = (value: unknown) => renderText(value);

describe('the broadcast stack', () => {
  it('has a Standard state machine whose one Task invokes the page function, as the engine runs it', () => {
    const machine = resources[machineId]!.Properties;
    expect(machine.StateMachineType).toBe('STANDARD');
    const rendered = renderText(machine.DefinitionString);
    const definition = JSON.parse(rendered.replaceAll(`<GetAtt:${pageId}.Arn>`, 'arn:aws:lambda:eu-west-1:123456789012:function:rapport-broadcast-page')) as Record<string, unknown>;
    expect(definition).toEqual(broadcastDefinition('arn:aws:lambda:eu-west-1:123456789012:function:rapport-broadcast-page'));
    const result = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
    expect(result.errorsText?.()).toBe('');
    expect(result.isValid).toBe(true);
    // Its role invokes the page function and nothing else of Lambda.
    const roleId = (machine.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const invokes = actionsOn(rolePolicyStatements(template, roleId), 'lambda:InvokeFunction');
    expect(invokes.map((s) => asList(s.Resource).map(renderText))).toEqual([[`<GetAtt:${pageId}.Arn>`]]);
  });

  it('runs the page function in a lane of its own: reserved concurrency, and the channel rates it is given', () => {
    expect(resources[pageId]!.Properties.ReservedConcurrentExecutions).toBe(BROADCASTS.page.reservedConcurrency);
    // No rate by default: the variable is absent, and the page function limits nothing across broadcasts.
    expect((resources[pageId]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables).not.toHaveProperty(BROADCAST_ENV.BROADCAST_RATES);
    const rated = synthRapport({ stageName: 'dev', broadcastRates: { email: 10, sms: 1 } }, { bundle: false }).template;
    const ratedPage = (rated.toJSON().Resources as typeof resources)[functionIdByService(rated, BROADCASTS.page.serviceName)]!;
    const variables = (ratedPage.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.parse(variables[BROADCAST_ENV.BROADCAST_RATES] as string)).toEqual({ email: 10, sms: 1 });
  });

  it('gives both functions the state machine by name, and only it to start', () => {
    for (const id of [pageId, apiId]) {
      const variables = (resources[id]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(machineArn(variables[BROADCAST_ENV.STATE_MACHINE_ARN])).toMatch(/:stateMachine:Rapport-dev-broadcasts$/);
      const starts = actionsOn(functionPolicyStatements(template, id), 'states:StartExecution');
      expect(starts.map((s) => asList(s.Resource).map(renderText))).toEqual([[machineArn(variables[BROADCAST_ENV.STATE_MACHINE_ARN])]]);
    }
  });

  it("gives the page function the send gateway's variables and grants: SES from the sender, the unsubscribe key", () => {
    const variables = (resources[pageId]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toHaveProperty(JOURNEY_ENV.EMAIL_FROM_ADDRESS);
    expect(variables).toHaveProperty(JOURNEY_ENV.SEND_POLICY);
    const statements = functionPolicyStatements(template, pageId);
    expect(actionsOn(statements, 'ses:SendEmail')).toHaveLength(1);
    expect(actionsOn(statements, 'secretsmanager:GetSecretValue')).toHaveLength(1);
    // It never publishes on the bus, and the API function never sends.
    expect(actionsOn(statements, 'events:PutEvents')).toEqual([]);
    expect(actionsOn(functionPolicyStatements(template, apiId), 'ses:SendEmail')).toEqual([]);
  });

  it("gives the API function the declared topics (ids and defaults of the config's topics.yaml): a broadcast's topic must be one", () => {
    const variables = (resources[apiId]!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(JSON.parse(variables[BROADCAST_ENV.TOPICS] as string)).toEqual([
      { id: 'newsletter', default: { 'opt-out': 'subscribed', 'opt-in': 'subscribed' } },
      { id: 'offers', default: { 'opt-out': 'subscribed', 'opt-in': 'unsubscribed' } },
      { id: 'product-updates', default: { 'opt-out': 'subscribed', 'opt-in': 'subscribed' } },
    ]);
  });

  it('routes POST /v1/broadcasts and GET, DELETE /v1/broadcasts/{id} of the IAM customer API to the API function', () => {
    for (const key of ['POST /v1/broadcasts', 'GET /v1/broadcasts/{id}', 'DELETE /v1/broadcasts/{id}']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'AWS_IAM' });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationUri: { 'Fn::GetAtt': [apiId, 'Arn'] }, PayloadFormatVersion: '2.0' });
    template.hasResourceProperties('AWS::Lambda::Function', Match.objectLike({ Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: BROADCASTS.api.serviceName }) } }));
  });
});
