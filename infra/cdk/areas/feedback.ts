import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { SES_MATCHING_EVENT_TYPES } from '../../../functions/feedback/ses-event';
import { ENV } from '../../../shared/config/env';
import { SES_FEEDBACK_TABLE_ACCESS, sesFeedbackRule } from '../../topology';
import { FEEDBACK } from '../defaults';
import { rapportFunction } from '../function';
import { SqsOnFailure } from '../targets';
import { eventPattern, grantProfileTable, type AreaContext } from './context';

export interface FeedbackAreaProps {
  readonly bus: events.EventBus;
  readonly deadLetterQueue: sqs.Queue;
  readonly profileTable: dynamodb.TableV2;
  /**
   * An existing configuration set to send with (`email.configurationSet`): the area adds its EventBridge
   * destination to it. @default a configuration set `rapport-<stage>`, created here
   */
  readonly configurationSetName?: string;
}

/**
 * SES feedback: journey emails are sent with a configuration set whose EventBridge destination publishes
 * bounces, complaints, deliveries, opens, clicks, rejects and delays on the default bus (the only bus SES
 * publishes to); a rule there (the topology's `SES_FEEDBACK`) sends them to the SES feedback function, which
 * suppresses hard bounces and complaints at once and puts customer events on the Rapport bus.
 */
export class FeedbackArea {
  public readonly configurationSetName: string;
  public readonly configurationSet?: ses.ConfigurationSet;
  public readonly eventDestination: ses.ConfigurationSetEventDestination;
  public readonly sesFeedbackFunction: nodejs.NodejsFunction;
  public readonly sesFeedbackRule: events.Rule;

  constructor(ctx: AreaContext, props: FeedbackAreaProps) {
    const { scope, stageName, key, logGroup } = ctx;
    // A literal name (not the resource's token): the step function's variable, its ses:SendEmail grant and the rule name it.
    this.configurationSetName = props.configurationSetName ?? FEEDBACK.configurationSetName(stageName);
    const configurationSet =
      props.configurationSetName !== undefined
        ? ses.ConfigurationSet.fromConfigurationSetName(scope, 'EmailConfigurationSet', props.configurationSetName)
        : new ses.ConfigurationSet(scope, 'EmailConfigurationSet', { configurationSetName: this.configurationSetName });
    if (configurationSet instanceof ses.ConfigurationSet) this.configurationSet = configurationSet;
    this.eventDestination = new ses.ConfigurationSetEventDestination(scope, 'EmailFeedbackDestination', {
      configurationSet,
      destination: ses.EventDestination.eventBus(events.EventBus.fromEventBusName(scope, 'DefaultEventBus', 'default')),
      events: SES_MATCHING_EVENT_TYPES.map((type) => type as ses.EmailSendingEvent),
    });

    this.sesFeedbackFunction = rapportFunction(scope, 'SesFeedbackFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: turns SES feedback (bounces, complaints, deliveries, opens, clicks) into customer events`,
      entry: FEEDBACK.entry,
      serviceName: FEEDBACK.serviceName,
      memorySize: FEEDBACK.memorySize,
      timeout: FEEDBACK.timeout,
      logGroup: logGroup('SesFeedbackLogs'),
      environment: {
        [ENV.PROFILE_TABLE_NAME]: props.profileTable.tableName,
        [ENV.EVENT_BUS_NAME]: props.bus.eventBusName,
      },
      asyncInvoke: { ...FEEDBACK.asyncInvoke, onFailure: new SqsOnFailure(props.deadLetterQueue) },
    });
    // SES publishes a configuration set's events on the account's default bus only (no eventBus: the default).
    const rule = sesFeedbackRule(this.configurationSetName);
    this.sesFeedbackRule = new events.Rule(scope, rule.id, {
      description: `Rapport ${stageName}: SES feedback of this stage's configuration set, to the SES feedback function`,
      eventPattern: eventPattern(rule.pattern),
      targets: [
        new eventsTargets.LambdaFunction(this.sesFeedbackFunction, {
          retryAttempts: FEEDBACK.ruleDelivery.retryAttempts,
          maxEventAge: FEEDBACK.ruleDelivery.maxEventAge,
          deadLetterQueue: props.deadLetterQueue,
        }),
      ],
    });

    // Grants: exactly what functions/feedback/service.ts calls (see SES_FEEDBACK_TABLE_ACCESS), and PutEvents on the Rapport bus.
    grantProfileTable(props.profileTable, this.sesFeedbackFunction, SES_FEEDBACK_TABLE_ACCESS);
    props.bus.grantPutEventsTo(this.sesFeedbackFunction);
  }
}
