import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { RemovalPolicy } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { STAGE_DIMENSION } from '../../functions/observability';
import { FUNCTION_DEFAULTS, INGEST, JOURNEYS, PROFILE } from './defaults';

/**
 * Thresholds of the alarms; docs/operations.md says what to do when each fires.
 * Every alarm looks at 5-minute periods and treats missing data as fine (no traffic, no alarm).
 */
export const ALARMS = {
  period: Duration.minutes(5),
  /** Any message in the dead-letter queue is an event, enrolment or run end that did not happen. */
  deadLetterMessages: 1,
  /** Ingest 5xx responses as a percentage of requests, in 2 of 3 periods (a single 5xx in a quiet period is not an outage). */
  ingest5xxPercent: 1,
  ingest5xxDatapoints: { evaluationPeriods: 3, datapointsToAlarm: 2 },
  /** Failed, timed-out or throttled executions of one journey: every one is a customer whose run broke. */
  failedExecutions: 1,
  /**
   * Lambda throttles over all Rapport functions in a period. Asynchronous invocations are retried,
   * so a few are harmless; this many means the account's concurrency is exhausted.
   */
  lambdaThrottles: 10,
} as const;

export interface ObservabilityProps {
  readonly stageName: string;
  readonly alarmEmail?: string;
  readonly encryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  readonly deadLetterQueue: sqs.IQueue;
  readonly httpApi: apigwv2.IHttpApi;
  /** Every Rapport function, by a short label (dashboard and throttles alarm). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly stateMachines: ReadonlyMap<string, sfn.StateMachine>;
  /** The broadcast state machine: its failed executions alarm too. @default none */
  readonly broadcastStateMachine?: sfn.StateMachine;
}

/**
 * What an operator watches: an SNS topic for alarms (e-mailed to `alarmEmail`),
 * alarms on dead letters, ingest 5xx rate, failed executions and throttles, and
 * one dashboard per stage.
 */
export class RapportObservability extends Construct {
  /** Every alarm publishes here, on alarm and when it is OK again; encrypted. */
  public readonly alarmTopic: sns.Topic;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  public readonly ingest5xxAlarm: cloudwatch.Alarm;
  /** One per journey, by journey id. */
  public readonly failedExecutionAlarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** Failed, timed-out or throttled broadcast executions (a page that failed past its retries). */
  public readonly broadcastFailedAlarm?: cloudwatch.Alarm;
  public readonly throttleAlarm: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { stageName } = props;
    const stack = Stack.of(this);

    // CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key (its key policy is fixed),
    // so the topic uses the deployment's key, or a key of its own.
    const topicKey =
      props.encryptionKey ??
      new kms.Key(this, 'AlarmTopicKey', {
        description: `Rapport ${stageName}: encrypts the alarm topic`,
        enableKeyRotation: true,
        removalPolicy: props.removalPolicy,
      });
    topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheAlarmTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'], // in a key policy, "*" is this key
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Rapport ${stageName} alarms`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    if (props.alarmEmail !== undefined) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const notify = new cloudwatchActions.SnsAction(this.alarmTopic);
    const wire = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      return alarm;
    };
    const period = ALARMS.period;

    const deadLetters = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: cloudwatch.Stats.MAXIMUM });
    this.deadLetterAlarm = wire(
      new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
        alarmDescription: `Rapport ${stageName}: messages in the dead-letter queue (failed deliveries of bus rules, schedules or async invocations). See docs/operations.md "Dead letters".`,
        metric: deadLetters,
        threshold: ALARMS.deadLetterMessages,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    const requests = props.httpApi.metricCount({ period, statistic: cloudwatch.Stats.SUM });
    const serverErrors = props.httpApi.metricServerError({ period, statistic: cloudwatch.Stats.SUM });
    const ingest5xxRate = new cloudwatch.MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: { requests, errors: serverErrors },
      label: 'Ingest 5xx (% of requests)',
      period,
    });
    this.ingest5xxAlarm = wire(
      new cloudwatch.Alarm(this, 'Ingest5xxAlarm', {
        alarmDescription: `Rapport ${stageName}: the ingest API answers 5xx to at least ${ALARMS.ingest5xxPercent}% of requests. See docs/operations.md "Ingest 5xx".`,
        metric: ingest5xxRate,
        threshold: ALARMS.ingest5xxPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...ALARMS.ingest5xxDatapoints,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    const failed = new Map<string, cloudwatch.Alarm>();
    for (const [journeyId, stateMachine] of props.stateMachines) {
      const broken = new cloudwatch.MathExpression({
        expression: 'failed + timedOut + throttled',
        usingMetrics: {
          failed: stateMachine.metricFailed({ period, statistic: cloudwatch.Stats.SUM }),
          timedOut: stateMachine.metricTimedOut({ period, statistic: cloudwatch.Stats.SUM }),
          throttled: stateMachine.metricThrottled({ period, statistic: cloudwatch.Stats.SUM }),
        },
        label: `${journeyId}: failed, timed-out and throttled executions`,
        period,
      });
      failed.set(
        journeyId,
        wire(
          new cloudwatch.Alarm(stateMachine.node.scope as Construct, 'FailedExecutionsAlarm', {
            alarmDescription: `Rapport ${stageName}: executions of journey "${journeyId}" failed, timed out or were throttled. See docs/operations.md "Failed executions".`,
            metric: broken,
            threshold: ALARMS.failedExecutions,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
        ),
      );
    }
    this.failedExecutionAlarms = failed;
    const broadcasts = props.broadcastStateMachine;
    if (broadcasts !== undefined) {
      this.broadcastFailedAlarm = wire(
        new cloudwatch.Alarm(this, 'BroadcastFailedExecutionsAlarm', {
          alarmDescription: `Rapport ${stageName}: executions of broadcasts failed, timed out or were throttled (a page failed past its retries: the broadcast stopped part way). Redrive the execution; every recipient is claimed, so nobody gets it twice.`,
          metric: new cloudwatch.MathExpression({
            expression: 'failed + timedOut + throttled',
            usingMetrics: {
              failed: broadcasts.metricFailed({ period, statistic: cloudwatch.Stats.SUM }),
              timedOut: broadcasts.metricTimedOut({ period, statistic: cloudwatch.Stats.SUM }),
              throttled: broadcasts.metricThrottled({ period, statistic: cloudwatch.Stats.SUM }),
            },
            label: 'broadcasts: failed, timed-out and throttled executions',
            period,
          }),
          threshold: ALARMS.failedExecutions,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    const functions = Object.entries(props.functions);
    const throttles = new cloudwatch.MathExpression({
      expression: functions.map((_, index) => `t${index}`).join(' + '),
      usingMetrics: Object.fromEntries(functions.map(([, fn], index) => [`t${index}`, fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM })])),
      label: 'Lambda throttles (all Rapport functions)',
      period,
    });
    this.throttleAlarm = wire(
      new cloudwatch.Alarm(this, 'ThrottleAlarm', {
        alarmDescription: `Rapport ${stageName}: Rapport's functions were throttled at least ${ALARMS.lambdaThrottles} times in 5 minutes. See docs/operations.md "Throttles".`,
        metric: throttles,
        threshold: ALARMS.lambdaThrottles,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // Powertools metrics of the functions (namespace Rapport, dimensions `service` and `stage`:
    // functions/observability.ts adds RAPPORT_STAGE, so each stage's dashboard graphs its own).
    const app = (metricName: string, service: string, label = metricName) =>
      new cloudwatch.Metric({
        namespace: FUNCTION_DEFAULTS.metricsNamespace,
        metricName,
        dimensionsMap: { service, [STAGE_DIMENSION]: stageName },
        statistic: cloudwatch.Stats.SUM,
        period,
        label,
      });
    const fnMetrics = (metric: (fn: lambda.IFunction) => cloudwatch.IMetric) => functions.map(([, fn]) => metric(fn));
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboard names are unique per account (not per region): stage and region make it so.
      dashboardName: `Rapport-${stageName}-${stack.region}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        alarmStatusWidgets([this.deadLetterAlarm, this.ingest5xxAlarm, this.throttleAlarm, ...failed.values()]),
        [
          new cloudwatch.GraphWidget({ title: 'Ingest API: requests and 5xx', left: [requests, serverErrors], right: [ingest5xxRate], width: 8 }),
          new cloudwatch.GraphWidget({
            title: 'Events accepted / rejected / duplicate',
            left: [app('EventsAccepted', INGEST.serviceName), app('EventsRejected', INGEST.serviceName), app('EventsDuplicate', INGEST.serviceName)],
            width: 8,
          }),
          new cloudwatch.GraphWidget({ title: 'Dead-letter queue depth', left: [deadLetters], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Profiles',
            left: [
              app('ProfileUpdates', PROFILE.consumer.serviceName),
              app('DerivedEvents', PROFILE.consumer.serviceName),
              app('ProfileEventsDropped', PROFILE.consumer.serviceName),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Journeys: enrolments, conversions, exits',
            left: [
              app('JourneyEnrolments', JOURNEYS.starter.serviceName),
              app('JourneyDuplicateTriggers', JOURNEYS.starter.serviceName),
              app('GoalConversions', PROFILE.consumer.serviceName),
              app('JourneyExits', PROFILE.consumer.serviceName),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Sends by channel and status (sent, skipped by reason, failed)',
            left: [
              new cloudwatch.MathExpression({
                expression: `SEARCH('{${FUNCTION_DEFAULTS.metricsNamespace},channel,service,${STAGE_DIMENSION},status} MetricName="Sends" ${STAGE_DIMENSION}="${stageName}"', 'Sum', ${period.toSeconds()})`,
                usingMetrics: {},
                label: '',
                period,
              }),
            ],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Executions by journey: started / failed',
            left: [...props.stateMachines].map(([journeyId, machine]) => machine.metricStarted({ period, label: `${journeyId} started` })),
            right: [...props.stateMachines].map(([journeyId, machine]) => machine.metricFailed({ period, label: `${journeyId} failed` })),
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Lambda errors',
            left: fnMetrics((fn) => fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM })),
            width: 8,
          }),
          new cloudwatch.GraphWidget({ title: 'Lambda throttles', left: fnMetrics((fn) => fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM })), width: 8 }),
          new cloudwatch.GraphWidget({
            title: 'Lambda duration p99',
            left: fnMetrics((fn) => fn.metricDuration({ period, statistic: cloudwatch.Stats.p(99) })),
            width: 8,
          }),
        ],
      ],
    });
  }
}

/**
 * The alarms' status in rows of at most `ALARM_WIDGET_MAX` alarms: one row up to 100, as before nested stacks of
 * journeys, then one more per hundred (CloudWatch's console adds at most 100 alarms to an alarm status widget;
 * kept to for the API too, unverified there).
 */
function alarmStatusWidgets(alarms: readonly cloudwatch.IAlarm[]): cloudwatch.IWidget[] {
  const rows: cloudwatch.IWidget[] = [];
  for (let start = 0; start < alarms.length; start += ALARM_WIDGET_MAX) {
    rows.push(
      new cloudwatch.AlarmStatusWidget({
        title: start === 0 ? 'Alarms' : `Alarms (${start + 1}-${Math.min(start + ALARM_WIDGET_MAX, alarms.length)})`,
        width: 24,
        height: 3,
        alarms: alarms.slice(start, start + ALARM_WIDGET_MAX),
      }),
    );
  }
  return rows;
}

const ALARM_WIDGET_MAX = 100;
