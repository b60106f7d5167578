import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ENV, PROFILE_TABLE_LAYOUT } from '../../../shared/config/env';
import type { ConsentMode } from '../../../shared/profile/consent';
import { routesOf } from '../../topology';
import { INGEST, PROFILE } from '../defaults';
import { rapportFunction } from '../function';
import type { RapportSource, RapportThrottle } from '../rapport';
import { loggedDefaultStage, type AreaContext } from './context';

/** What Powertools' DynamoDB idempotency persistence layer calls, and nothing more. */
// Claims put one by one (conditional), completions written in batches (BatchingPersistenceLayer).
const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem'];

export interface IngestAreaProps {
  readonly bus: events.EventBus;
  readonly sources: readonly RapportSource[];
  readonly apiThrottle: RapportThrottle;
  /** Absolute folder of tags.yaml (and tracking-plan.yaml, topics.yaml when present). */
  readonly configDir: string;
  /** The deployment's consent mode: the preference page shows each topic's default for it. */
  readonly consentMode: ConsentMode;
}

/** Ingest: HTTP API -> ingest function -> bus, with the sources' secrets and the unsubscribe key. */
export class IngestArea {
  public readonly idempotencyTable: dynamodb.TableV2;
  public readonly sourceSecrets: ReadonlyMap<string, secretsmanager.Secret>;
  public readonly unsubscribeSecret: secretsmanager.Secret;
  public readonly ingestFunction: nodejs.NodejsFunction;
  public readonly httpApi: apigwv2.HttpApi;
  public readonly httpStage: apigwv2.HttpStage;

  constructor(ctx: AreaContext, props: IngestAreaProps) {
    const { scope, stageName, removalPolicy, key, logGroup } = ctx;
    const resolved = props;

    this.idempotencyTable = new dynamodb.TableV2(scope, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiration',
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: key !== undefined ? dynamodb.TableEncryptionV2.customerManagedKey(key) : dynamodb.TableEncryptionV2.awsManagedKey(),
      removalPolicy,
    });

    const secrets = new Map<string, secretsmanager.Secret>();
    for (const source of resolved.sources) {
      secrets.set(
        source.id,
        new secretsmanager.Secret(scope, `SourceSecret-${source.id}`, {
          description: `Rapport ${stageName}: Standard Webhooks secrets and Segment write keys of source "${source.id}"`,
          generateSecretString: {
            secretStringTemplate: JSON.stringify({ webhookSecrets: [], writeKeys: [] }),
            generateStringKey: 'webhookSecret',
            excludePunctuation: true,
            passwordLength: 32,
          },
          removalPolicy,
          ...(key !== undefined && { encryptionKey: key }),
        }),
      );
    }
    this.sourceSecrets = secrets;

    // Signs the one-click unsubscribe links the step function puts in messages; ingest verifies them on /v1/unsubscribe.
    this.unsubscribeSecret = new secretsmanager.Secret(scope, 'UnsubscribeSecret', {
      description: `Rapport ${stageName}: key that signs one-click unsubscribe links; to rotate, store a JSON list, new key first, old keys kept (see docs/operations.md)`,
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
      removalPolicy,
      ...(key !== undefined && { encryptionKey: key }),
    });

    this.ingestFunction = rapportFunction(scope, 'IngestFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: verifies and validates webhook and Segment events, puts them on the bus`,
      entry: INGEST.entry,
      serviceName: INGEST.serviceName,
      memorySize: INGEST.memorySize,
      timeout: INGEST.timeout,
      logGroup: logGroup('IngestLogs'),
      environment: {
        [ENV.EVENT_BUS_NAME]: props.bus.eventBusName,
        [ENV.IDEMPOTENCY_TABLE_NAME]: this.idempotencyTable.tableName,
        [ENV.SOURCES]: Stack.of(scope).toJsonString(
          // What each source may send travels beside its secret's ARN (not secret; read by functions/ingest/aws.ts).
          resolved.sources.map(({ id, events, traits }) => ({
            id,
            secretArn: secrets.get(id)!.secretArn,
            ...(events !== undefined && { events }),
            ...(traits !== undefined && { traits }),
          })),
        ),
        [ENV.UNSUBSCRIBE_SECRET]: this.unsubscribeSecret.secretArn,
        // tags.yaml (which tags senders may set) is bundled rather than put in a variable: variables share 4 KB.
        [ENV.CONFIG_DIR]: PROFILE.bundledConfigDir,
        [ENV.CONSENT_MODE]: resolved.consentMode,
      },
      bundledFiles: [
        {
          folder: PROFILE.bundledConfigFolder,
          files: [
            ...INGEST.configFiles.map((file) => path.join(resolved.configDir, file)),
            ...INGEST.optionalConfigFiles.map((file) => path.join(resolved.configDir, file)).filter((file) => existsSync(file)),
          ],
        },
      ],
    });

    props.bus.grantPutEventsTo(this.ingestFunction);
    this.idempotencyTable.grant(this.ingestFunction, ...IDEMPOTENCY_TABLE_ACTIONS);
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...[...secrets.values()].map((secret) => secret.secretArn), this.unsubscribeSecret.secretArn],
      }),
    );

    this.httpApi = new apigwv2.HttpApi(scope, 'HttpApi', {
      apiName: `rapport-${stageName}-ingest`,
      description: `Rapport ${stageName}: Standard Webhooks and Segment HTTP Tracking API ingest`,
      createDefaultStage: false, // created below, with throttling and access logs
    });
    this.httpStage = loggedDefaultStage(scope, 'DefaultStage', this.httpApi, resolved.apiThrottle, logGroup('ApiAccessLogs'));

    const integration = new HttpLambdaIntegration('Ingest', this.ingestFunction, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of routesOf('ingest')) {
      // No authorizer: senders sign their requests, and the function verifies the signature on the raw body;
      // on /v1/unsubscribe (RFC 8058 one-click, GET and POST) the link's HMAC (the unsubscribe secret) is the authorization.
      this.httpApi.addRoutes({ path: route.path, methods: [apigwv2.HttpMethod[route.method]], integration });
    }
  }

  /**
   * Ingest records each consent denial and suppression (hard bounce) in the customer's partition before it
   * answers, so the send step honours it at once (one conditional PutItem; functions/profile/store.ts
   * putConsentHold, putSuppressionHold), then reads the customer's erasure tombstone and deletes the hold it
   * wrote if they are erased (write, then check; one received after the erasure completed is kept, with no id, under
   * XH#<sha256(id)> for their new life); a consent change or a suppression of email is recorded as its address's too
   * (AH#<sha256(address)>: the customer's profile read for its address, the item put, and deleted if the customer was
   * erased meanwhile), and reads the forwarding
   * records an alias would join (GetItem in C#*; functions/ingest/aliases.ts refuses one that would close a
   * cycle). The preference page reads the customer's profile (GetItem in C#*) and records a topic left as a
   * hold there too (PutItem, `K#<channel>#<topic>`). It also records the
   * tracking plan violations of flagged events in their own partitions (functions/ingest/violations.ts).
   */
  useProfileTable(profileTable: dynamodb.TableV2): void {
    this.ingestFunction.addEnvironment(ENV.PROFILE_TABLE_NAME, profileTable.tableName);
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [profileTable.tableArn],
        // Customer partitions (C#<id>), holds kept for an erased id (XH#<hash>) and violations (TPV#...) only: ingest cannot touch aliases, tombstones or anything else.
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...INGEST.profileTableLeadingKeys] } },
      }),
    );
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:DeleteItem'],
        resources: [profileTable.tableArn],
        // Alias checks (forwarding records), the preference page's profile read, the customer a visitor's denial is held
        // under too (the visitor's forwarding record, `C#anon:<id>`: functions/ingest/consent.ts) and undoing a consent
        // hold of an erased customer: customer partitions, and the hold kept for an erased id (XH#) or for an address
        // (AH#: read before a grant lifts its denial), undone when an erasure began meanwhile; an address hold's write
        // closed once checked (XW#<sha256(id)>).
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['C#*', 'XH#*', 'AH#*', 'XW#*'] } },
      }),
    );
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [profileTable.tableArn],
        // Tombstones only (X#<sha256(id)>, no customer data in them).
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['X#*'] } },
      }),
    );
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [profileTable.tableArn],
        // The records listed under an address or number (AH#<hash> / H#<sha256(id)>): a denial or suppression written
        // for a customer erased meanwhile stays while one of them still has the address (ProfileStore#keepForLiveHolder).
        // And a customer's address hold writes left open (XW#<sha256(id)>), checked again (ProfileStore#checkOpenHoldWrites).
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['AH#*', 'XW#*'] } },
      }),
    );
    this.ingestFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        // The email index (keys only: an address's hash and the customer ids with it): a one-click click on an erased
        // record's mail denies its address for the records that still have it (ProfileStore.denyAddressOfLink).
        resources: [`${profileTable.tableArn}/index/${PROFILE_TABLE_LAYOUT.emailIndex.name}`],
      }),
    );
  }
}
