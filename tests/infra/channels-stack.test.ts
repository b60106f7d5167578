/**
 * WhatsApp and push in AWS: the step function may call social-messaging:SendWhatsAppMessage on the configured origination
 * phone number alone, and only when a journey sends WhatsApp; a journey sending WhatsApp without the setting fails
 * synth at the send, naming the setting and how to give it. The broadcast page function may send on either wherever
 * the deployment gives its setting: a broadcast is made at run time, whatever the journeys send.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { BROADCASTS, JOURNEYS } from '../../infra/cdk/defaults';
import { RapportPropsError } from '../../infra/cdk/errors';
import { Rapport } from '../../infra/cdk/rapport';
import { BROADCAST_ENV } from '../../shared/config/broadcast-env';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { functionIdByService, newApp, synthRapport, TEMPLATES_DIR, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-whatsapp-stack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const templatesDir = mkdtempSync(path.join(scratch, 'templates-'));
for (const name of readdirSync(TEMPLATES_DIR)) copyFileSync(path.join(TEMPLATES_DIR, name), path.join(templatesDir, name));
writeFileSync(path.join(templatesDir, 'order-shipped.whatsapp.liquid'), 'Template: order_shipped\nLanguage: en_US\n\n{{ trigger.orderId }}\n');
const journeysDir = (sendsWhatsApp: boolean) => {
  const dir = mkdtempSync(path.join(scratch, 'journeys-'));
  const send = sendsWhatsApp ? '{ channel: whatsapp, template: order-shipped }' : '{ channel: email, template: welcome }';
  writeFileSync(path.join(dir, 'shipped.yaml'), ['id: shipped', 'name: Shipped', 'version: 1', 'trigger: { event: Order Shipped }', 'steps:', '  - id: notify', `    send: ${send}`, ''].join('\n'));
  return dir;
};
const PHONE_NUMBER_ID = 'phone-number-id-0123456789abcdef0123456789abcdef';
const SEND_WHATSAPP = {
  Effect: 'Allow',
  Action: 'social-messaging:SendWhatsAppMessage',
  Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':social-messaging:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':phone-number-id/0123456789abcdef0123456789abcdef']] },
};

const pushJourneysDir = (sendsPush: boolean) => {
  const dir = mkdtempSync(path.join(scratch, 'journeys-'));
  const send = sendsPush ? '{ channel: push, template: order-shipped }' : '{ channel: email, template: welcome }';
  writeFileSync(path.join(dir, 'shipped.yaml'), ['id: shipped', 'name: Shipped', 'version: 1', 'trigger: { event: Order Shipped }', 'steps:', '  - id: notify', `    send: ${send}`, ''].join('\n'));
  return dir;
};
writeFileSync(path.join(templatesDir, 'order-shipped.push.liquid'), 'Title: Shipped\n\nOrder {{ trigger.orderId }} is on its way.\n');
const APP = 'arn:aws:sns:eu-west-1:123456789012:app/GCM/shop-app';

type Template = ReturnType<typeof synthRapport>['template'];
/** The actions the role of the function with this service name is allowed, each with its resources. */
const grantsOf = (template: Template, serviceName: string) => {
  const fn = template.toJSON().Resources[functionIdByService(template, serviceName)] as { Properties: { Role: { 'Fn::GetAtt': [string, string] }; Environment: { Variables: Record<string, unknown> } } };
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`));
  const statements = policies.flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } }).PolicyDocument.Statement);
  return { actions: statements.flatMap((st) => [st.Action].flat()), variables: fn.Properties.Environment.Variables };
};

describe('push in the stack', () => {
  it('grants sns:Publish on the platform application\'s endpoints alone, when a journey sends push', () => {
    const { template } = synthRapport({ journeysDir: pushJourneysDir(true), templatesDir, push: { platformApplicationArn: APP } }, { bundle: false });
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'sns:Publish', Resource: 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/*' }]) } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [JOURNEY_ENV.PUSH_PLATFORM_APPLICATION_ARN]: APP }) } });
  });

  it('grants the step function nothing of push when no journey sends it (the broadcast page function: see below)', () => {
    const { template } = synthRapport({ journeysDir: pushJourneysDir(false), templatesDir, push: { platformApplicationArn: APP } }, { bundle: false });
    expect(grantsOf(template, JOURNEYS.step.serviceName).actions).not.toContain('sns:Publish');
  });
});

describe('WhatsApp in the stack', () => {
  it('grants SendWhatsAppMessage on the configured phone number, and configures the step function, when a journey sends WhatsApp', () => {
    const { template } = synthRapport({ journeysDir: journeysDir(true), templatesDir, whatsapp: { phoneNumberId: PHONE_NUMBER_ID } }, { bundle: false });
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([SEND_WHATSAPP]) } });
    const stepId = functionIdByService(template, JOURNEYS.step.serviceName);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ [JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID]: PHONE_NUMBER_ID }) } });
    expect(stepId).toBeTruthy();
  });

  it('grants the step function nothing of WhatsApp when no journey sends it, even with the setting given (the broadcast page function: see below)', () => {
    const { template } = synthRapport({ journeysDir: journeysDir(false), templatesDir, whatsapp: { phoneNumberId: PHONE_NUMBER_ID } }, { bundle: false });
    const step = grantsOf(template, JOURNEYS.step.serviceName);
    expect(step.actions.filter((a) => a.startsWith('social-messaging:'))).toEqual([]);
    expect(Object.keys(step.variables)).not.toContain(JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID);
  });

  it('refuses a journey sending WhatsApp without the setting, at the channel, saying how to give it', () => {
    const dir = journeysDir(true);
    let problems: string[] = [];
    try {
      new Rapport(new Stack(newApp({ bundle: false }), 'Rapport-test'), 'Rapport', { stageName: 'test', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, journeysDir: dir, templatesDir });
    } catch (error) {
      if (!(error instanceof RapportPropsError)) throw error;
      problems = [...error.problems];
    }
    expect(problems).toEqual([
      `${path.join(dir, 'shipped.yaml')}:7:22 steps[0].send.channel: sends WhatsApp: deploying it to AWS needs the whatsappPhoneNumberId setting: npx cdk deploy -c whatsappPhoneNumberId=phone-number-id-<32 hex digits> (or "whatsappPhoneNumberId" under context in cdk.json, or the whatsapp prop of the Rapport construct), or send on another channel`,
    ]);
  });
});

describe('WhatsApp and push for broadcasts', () => {
  it('the page function may send WhatsApp and push when the deployment gives their settings, though no journey sends them; the step function may not', () => {
    const { template } = synthRapport({ journeysDir: journeysDir(false), templatesDir, whatsapp: { phoneNumberId: PHONE_NUMBER_ID }, push: { platformApplicationArn: APP } }, { bundle: false });
    const page = grantsOf(template, BROADCASTS.page.serviceName);
    expect(page.actions).toEqual(expect.arrayContaining(['social-messaging:SendWhatsAppMessage', 'sns:Publish']));
    expect(page.variables).toMatchObject({ [JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID]: PHONE_NUMBER_ID, [JOURNEY_ENV.PUSH_PLATFORM_APPLICATION_ARN]: APP });
    expect(grantsOf(template, BROADCASTS.api.serviceName).variables).not.toHaveProperty(BROADCAST_ENV.UNDEPLOYED_CHANNELS);
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([SEND_WHATSAPP, { Effect: 'Allow', Action: 'sns:Publish', Resource: 'arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/shop-app/*' }]) } });
    const step = grantsOf(template, JOURNEYS.step.serviceName);
    expect(step.actions.filter((a) => a.startsWith('social-messaging:') || a.startsWith('sns:'))).toEqual([]);
    expect(Object.keys(step.variables)).not.toContain(JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID);
  });

  it('without the settings, the page function may send neither, and the API refuses a broadcast on either (RAPPORT_UNDEPLOYED_CHANNELS)', () => {
    const { template } = synthRapport({ journeysDir: journeysDir(false), templatesDir }, { bundle: false });
    expect(grantsOf(template, BROADCASTS.page.serviceName).actions.filter((a) => a.startsWith('social-messaging:') || a.startsWith('sns:'))).toEqual([]);
    expect(grantsOf(template, BROADCASTS.api.serviceName).variables[BROADCAST_ENV.UNDEPLOYED_CHANNELS]).toBe('["whatsapp","push"]');
    const withPush = synthRapport({ journeysDir: journeysDir(false), templatesDir, push: { platformApplicationArn: APP } }, { bundle: false }).template;
    expect(grantsOf(withPush, BROADCASTS.api.serviceName).variables[BROADCAST_ENV.UNDEPLOYED_CHANNELS]).toBe('["whatsapp"]');
  });
});
