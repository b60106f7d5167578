import type { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { PROFILE_TABLE_LAYOUT } from '../../../shared/config/env';
import type { ProfileTableAccess } from '../defaults';
import type { RapportThrottle } from '../rapport';

/**
 * What every area of the `Rapport` construct builds with.
 *
 * The areas (encryption, bus, ingest, profiles, journeys) are plain classes, not
 * child constructs: each builds its resources directly in `scope`, the `Rapport`
 * construct, exactly as the single constructor did. A child construct would put
 * its id into every logical id under it, and CloudFormation replaces a resource
 * whose logical id changes: the tables would be emptied, the APIs' URLs would
 * change. tests/infra/logical-ids.test.ts pins the ids of the stateful resources.
 */
export interface AreaContext {
  /** The `Rapport` construct: every area's resources are its direct children. */
  readonly scope: Construct;
  readonly stageName: string;
  readonly removalPolicy: RemovalPolicy;
  /** The customer-managed key everything is encrypted with, when `encryptionKey` was given. */
  readonly key: kms.IKey | undefined;
  /** A log group in `scope` with the stage's retention, removal policy and key. */
  readonly logGroup: (logicalId: string) => logs.LogGroup;
}

/** Access log fields of both APIs, as JSON. */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integration.error',
};

/** The `$default` stage of `api`, auto-deployed, throttled, with JSON access logs. */
export function loggedDefaultStage(
  scope: Construct,
  id: string,
  api: apigwv2.HttpApi,
  throttle: RapportThrottle,
  accessLogs: logs.ILogGroup,
  extraLogFields: Record<string, string> = {},
): apigwv2.HttpStage {
  return new apigwv2.HttpStage(scope, id, {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(JSON.stringify({ ...ACCESS_LOG_FIELDS, ...extraLogFields })),
    },
  });
}

/** `access.table` on the profile table, `access.indexes` on its two indexes and Query on the email index with `access.emailIndex`, each named: no wildcard. */
export function grantProfileTable(profileTable: dynamodb.ITableV2, fn: lambda.IFunction, access: ProfileTableAccess): void {
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...access.table], resources: [profileTable.tableArn] }));
  const { dueIndex, lastOrderIndex, emailIndex } = PROFILE_TABLE_LAYOUT;
  const indexes = [...(access.indexes.length > 0 ? [dueIndex, lastOrderIndex] : []), ...(access.emailIndex ? [emailIndex] : [])];
  if (indexes.length === 0) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: access.indexes.length > 0 ? [...access.indexes] : ['dynamodb:Query'],
      resources: indexes.map((index) => `${profileTable.tableArn}/index/${index.name}`),
    }),
  );
}

/** A shared, deeply read-only pattern (the embedded bus uses the same object) as the CDK's mutable type. */
export function eventPattern(pattern: object): events.EventPattern {
  return structuredClone(pattern) as events.EventPattern;
}
