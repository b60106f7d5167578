import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { RapportPropsError } from '../../infra/cdk/errors';
import { Rapport } from '../../infra/cdk/rapport';
import type { RapportProps } from '../../infra/cdk/rapport';
import { ENV } from '../../shared/config/env';
import { functionIdByService, functionPolicyStatements, newApp, onlyLogicalId, renderText, synthRapport, TEST_CONFIG_DIR, TEST_DELIVERY } from './synth';

describe('Rapport with custom props', () => {
  const { template } = synthRapport({
    stageName: 'prod',
    sources: [{ id: 'web-shop' }, { id: 'segment' }],
    eventArchiveRetention: Duration.days(365),
    logRetention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.DESTROY,
    apiThrottle: { rateLimit: 50, burstLimit: 100 },
  }, { bundle: false });
  const secretIdByDescription = (sourceId: string) =>
    onlyLogicalId(template, 'AWS::SecretsManager::Secret', {
      Properties: { Description: `Rapport prod: Standard Webhooks secrets and Segment write keys of source "${sourceId}"` },
    });

  it('creates a secret per source, lists them in order in RAPPORT_SOURCES and may read exactly those (and the unsubscribe key)', () => {
    const webShop = secretIdByDescription('web-shop');
    const segment = secretIdByDescription('segment');
    const unsubscribe = onlyLogicalId(template, 'AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('unsubscribe links') } });
    const functionId = functionIdByService(template, 'rapport-ingest');
    const fn = template.toJSON().Resources[functionId];

    expect(JSON.parse(renderText(fn?.Properties.Environment.Variables[ENV.SOURCES]))).toEqual([
      { id: 'web-shop', secretArn: `<Ref:${webShop}>` },
      { id: 'segment', secretArn: `<Ref:${segment}>` },
    ]);
    expect(functionPolicyStatements(template, functionId).filter((s) => s.Action === 'secretsmanager:GetSecretValue')).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [{ Ref: webShop }, { Ref: segment }, { Ref: unsubscribe }] },
    ]);
  });

  it('applies archive retention, log retention and throttling', () => {
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 365 });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('gives every function that erases the same tombstone lifetime, past the archive and every redelivery', () => {
    // 365 days of archive + 17 of redelivery: the customer API's erasures and the consumer's of a visitor alike.
    for (const service of ['rapport-customers', 'rapport-profile']) {
      const fn = template.toJSON().Resources[functionIdByService(template, service)];
      expect(fn?.Properties.Environment.Variables[ENV.ERASURE_TOMBSTONE_DAYS], service).toBe('382');
    }
  });

  it('applies the removal policy to the resources that hold data', () => {
    for (const type of ['AWS::Events::Archive', 'AWS::DynamoDB::GlobalTable', 'AWS::SecretsManager::Secret', 'AWS::SQS::Queue']) {
      template.allResources(type, { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    }
  });

  it('tags the resources with the stage', () => {
    for (const type of ['AWS::Lambda::Function', 'AWS::Events::EventBus', 'AWS::SQS::Queue', 'AWS::SecretsManager::Secret']) {
      template.allResourcesProperties(type, { Tags: Match.arrayWith([{ Key: 'rapport:stage', Value: 'prod' }]) });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Tags: { 'rapport:stage': 'prod' } });
  });
});

describe('Rapport rejects impossible props at synth', () => {
  /** Act: build the construct; validation runs before anything is bundled. */
  const build = (props: Partial<RapportProps>) => () =>
    new Rapport(new Stack(newApp({ bundle: false }), 'Rapport-test'), 'Rapport', { stageName: 'test', configDir: TEST_CONFIG_DIR, ...TEST_DELIVERY, ...props });

  it.each<[string, Partial<RapportProps>, RegExp]>([
    ['duplicate source ids', { sources: [{ id: 'shop' }, { id: 'shop' }] }, /sources\[1\]\.id "shop" is used twice/],
    ['a source id Rapport reserves for its one-click link', { sources: [{ id: 'unsubscribe' }] }, /sources\[0\]\.id "unsubscribe" is reserved: it is the source of Rapport's own one-click unsubscribe link/],
    ['an upper-case source id', { sources: [{ id: 'WebShop' }] }, /sources\[0\]\.id "WebShop" must be 1-64 characters of a-z, 0-9 and '-'/],
    ['a source id with an underscore', { sources: [{ id: 'web_shop' }] }, /sources\[0\]\.id "web_shop"/],
    ['an empty source id', { sources: [{ id: '' }] }, /sources\[0\]\.id ""/],
    ['no sources', { sources: [] }, /sources must name at least one source/],
    ['too many sources', { sources: Array.from({ length: 21 }, (_, i) => ({ id: `s${i}` })) }, /sources has 21 entries, at most 20/],
    ['a stage name with capitals', { stageName: 'Prod' }, /stageName "Prod" must be 1-32 lower-case letters/],
    ['an archive retention of zero', { eventArchiveRetention: Duration.days(0) }, /eventArchiveRetention is 0 days?; it must be a whole number of days, at least 1/],
    ['an archive retention in hours', { eventArchiveRetention: Duration.hours(36) }, /eventArchiveRetention .* whole number of days/],
    [
      'a tombstone shorter than the archive plus redelivery',
      { eventArchiveRetention: Duration.days(90), erasureTombstoneRetention: Duration.days(30) },
      /erasureTombstoneRetention is 30 days; it must be at least eventArchiveRetention \(90 days\) \+ 17 days of redelivery .* = 107 days/,
    ],
    ['a SNAPSHOT removal policy', { removalPolicy: RemovalPolicy.SNAPSHOT }, /removalPolicy snapshot is not supported/],
    ['a negative rate limit', { apiThrottle: { rateLimit: -1, burstLimit: 10 } }, /apiThrottle\.rateLimit -1 must be a positive number/],
    ['a fractional burst limit', { apiThrottle: { rateLimit: 10, burstLimit: 2.5 } }, /apiThrottle\.burstLimit 2\.5 must be a positive whole number/],
    ['a timeline retention of zero', { timelineRetention: Duration.days(0) }, /timelineRetention is 0 days?; it must be a whole number of days, at least 1/],
    ['a timeline retention in hours', { timelineRetention: Duration.hours(12) }, /timelineRetention .* whole number of days/],
    ['an unknown consent mode', { consentMode: 'double-opt-in' as never }, /consentMode "double-opt-in" must be 'opt-out' or 'opt-in'/],
    ['a broadcast rate of 0', { broadcastRates: { email: 0 } }, /broadcastRates\.email: expected messages per second, a number above 0/],
    ['a broadcast rate for a channel broadcasts do not send on', { broadcastRates: { webhook: 5 } as never }, /broadcastRates\.webhook: expected a channel a broadcast sends on \(email, sms, whatsapp, push\)/],
  ])('rejects %s', (_case, props, message) => {
    expect(build(props)).toThrow(RapportPropsError);
    expect(build(props)).toThrow(message);
  });

  it('names the construct and lists every problem at once', () => {
    const act = build({ sources: [{ id: 'a' }, { id: 'a' }], apiThrottle: { rateLimit: 0, burstLimit: 0 } });

    expect(act).toThrow(/^Invalid props for Rapport-test\/Rapport:\n/);
    try {
      act();
    } catch (error) {
      expect((error as RapportPropsError).problems).toHaveLength(3);
    }
  });
});
