import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { ENV } from '../../../shared/config/env';
import { BROADCAST_ENV } from '../../../shared/config/broadcast-env';
import { JOURNEY_ENV } from '../../../shared/config/journey-env';
import type { BroadcastRates } from '../../../shared/broadcasts/rates';
import type { TopicDefault } from '../../../shared/topics';
import { broadcastDefinition } from '../../../workflows/broadcasts';
import { routesOf } from '../../topology';
import { BROADCAST_TABLE_ACCESS, BROADCASTS, JOURNEYS } from '../defaults';
import { rapportFunction, type BundledFiles } from '../function';
import { grantProfileTable, type AreaContext } from './context';

export interface BroadcastsAreaProps {
  readonly profileTable: dynamodb.TableV2;
  /** The customer API (IAM): the broadcast routes are added to it. */
  readonly customerApi: apigwv2.HttpApi;
  /** The send gateway's variables, files and statements, as the journey step function has them. */
  readonly sendEnvironment: Readonly<Record<string, string>>;
  readonly sendBundledFiles: readonly BundledFiles[];
  readonly sendStatements: readonly iam.PolicyStatement[];
  readonly unsubscribeSecret: secretsmanager.ISecret;
  /** The events the journey router credits as conversions (`conversionEventsOf`): a broadcast's attribution may name these. */
  readonly conversionEvents: readonly string[];
  /** The declared subscription topics (topics.yaml), their ids and defaults: a broadcast's `topic` must be one. */
  readonly topics: ReadonlyArray<{ readonly id: string; readonly default: TopicDefault }>;
  /** Messages per second all broadcasts together may send per channel (the page function's lanes). */
  readonly broadcastRates?: BroadcastRates;
  /** The broadcast channels whose deployment setting is not given: the API refuses a broadcast on one. */
  readonly undeployedChannels: readonly string[];
}

/**
 * Broadcasts: the API function (on the customer API) starts a broadcast's execution on the broadcast
 * state machine (Standard), whose Task invokes the page function, page after page, in a lane of its own
 * (reserved concurrency).
 */
export class BroadcastsArea {
  public readonly broadcastApiFunction: nodejs.NodejsFunction;
  public readonly broadcastPageFunction: nodejs.NodejsFunction;
  public readonly broadcastStateMachine: sfn.StateMachine;
  public readonly broadcastRoutes: apigwv2.HttpRoute[];

  constructor(ctx: AreaContext, props: BroadcastsAreaProps) {
    const { scope, stageName, key, logGroup } = ctx;
    const stack = Stack.of(scope);
    const stateMachineName = BROADCASTS.stateMachineName(stageName);
    // By name: the page function starts a long broadcast's next generation on the machine that invokes it.
    const stateMachineArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

    this.broadcastPageFunction = rapportFunction(scope, 'BroadcastPageFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: sends a page of a broadcast through the send gateway`,
      ...BROADCASTS.page,
      logGroup: logGroup('BroadcastPageLogs'),
      environment: {
        ...props.sendEnvironment,
        [BROADCAST_ENV.STATE_MACHINE_ARN]: stateMachineArn,
        ...(props.broadcastRates !== undefined && Object.keys(props.broadcastRates).length > 0 && { [BROADCAST_ENV.BROADCAST_RATES]: JSON.stringify(props.broadcastRates) }),
      },
      bundledFiles: props.sendBundledFiles,
    });
    (this.broadcastPageFunction.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = BROADCASTS.page.reservedConcurrency;

    this.broadcastApiFunction = rapportFunction(scope, 'BroadcastApiFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: creates, reads and cancels broadcasts`,
      ...BROADCASTS.api,
      logGroup: logGroup('BroadcastApiLogs'),
      environment: {
        [ENV.PROFILE_TABLE_NAME]: props.profileTable.tableName,
        [JOURNEY_ENV.TEMPLATES_DIR]: JOURNEYS.bundledTemplatesDir,
        [BROADCAST_ENV.STATE_MACHINE_ARN]: stateMachineArn,
        [BROADCAST_ENV.CONVERSION_EVENTS]: JSON.stringify(props.conversionEvents),
        [BROADCAST_ENV.TOPICS]: JSON.stringify(props.topics),
        ...(props.undeployedChannels.length > 0 && { [BROADCAST_ENV.UNDEPLOYED_CHANNELS]: JSON.stringify(props.undeployedChannels) }),
      },
      // The templates, so a broadcast naming none is refused with a 400.
      bundledFiles: props.sendBundledFiles.filter((files) => files.folder === JOURNEYS.bundledTemplatesFolder),
    });

    this.broadcastStateMachine = new sfn.StateMachine(scope, 'BroadcastStateMachine', {
      stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(stack.toJsonString(broadcastDefinition(this.broadcastPageFunction.functionArn))),
      // Executions carry ids and cursors only, but their data stays out of the logs all the same.
      logs: { destination: logGroup('BroadcastStateMachineLogs'), level: BROADCASTS.logLevel, includeExecutionData: false },
      tracingEnabled: true,
      ...(key !== undefined && { encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(key) }),
    });
    // Its Task invokes the page function's unqualified ARN: that and nothing else.
    this.broadcastStateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.broadcastPageFunction.functionArn] }));

    // Grants: what each function's code path calls, on exactly these resources.
    grantProfileTable(props.profileTable, this.broadcastApiFunction, BROADCAST_TABLE_ACCESS.api);
    grantProfileTable(props.profileTable, this.broadcastPageFunction, BROADCAST_TABLE_ACCESS.page);
    for (const fn of [this.broadcastApiFunction, this.broadcastPageFunction]) {
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [stateMachineArn] }));
    }
    for (const statement of props.sendStatements) this.broadcastPageFunction.addToRolePolicy(statement);
    // Every marketing email carries a signed one-click unsubscribe link.
    this.broadcastPageFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [props.unsubscribeSecret.secretArn] }));

    const integration = new HttpLambdaIntegration('Broadcasts', this.broadcastApiFunction, { payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0 });
    this.broadcastRoutes = routesOf('customers')
      .filter((route) => route.target === 'broadcastApi')
      .flatMap((route) => props.customerApi.addRoutes({ path: route.path, methods: [apigwv2.HttpMethod[route.method]], integration }));
  }
}
