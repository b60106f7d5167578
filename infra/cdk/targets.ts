import { Stack, type Duration } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * An SQS queue as a function's on-failure destination, granting `sqs:SendMessage`
 * on it and nothing else (Lambda needs no more; the stock `SqsDestination` also
 * grants GetQueueAttributes and GetQueueUrl).
 */
export class SqsOnFailure implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}

/**
 * A schedule that invokes a function's unqualified ARN, and may invoke only that:
 * the stock `LambdaInvoke` also grants every version and alias (`<arn>:*`).
 * Retry policy, dead-letter queue and role work as in `ScheduleTargetBase`.
 */
export class InvokeFunction extends schedulerTargets.ScheduleTargetBase implements scheduler.IScheduleTarget {
  constructor(
    private readonly fn: lambda.IFunction,
    props: schedulerTargets.ScheduleTargetBaseProps,
  ) {
    super(props, fn.functionArn);
  }

  protected addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }));
  }
}

/** Retry policy and dead-letter queue of a rule target, as the stock targets take them. */
export interface RuleDelivery {
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * A function as the target of many rules of one bus, with the retry policy and
 * dead-letter queue of the stock `LambdaFunction`, but none of its per-rule
 * resources: that one adds an `AWS::Lambda::Permission` and a queue policy
 * statement for every rule it is bound to (a hundred trigger rules, a hundred of
 * each). Whoever uses it calls `allowRulesOfBus` once, for all of them.
 */
export class BusRuleFunction implements events.IRuleTarget {
  constructor(
    private readonly fn: lambda.IFunction,
    private readonly delivery: RuleDelivery,
  ) {}

  bind(_rule: events.IRule, _id?: string): events.RuleTargetConfig {
    return {
      arn: this.fn.functionArn,
      retryPolicy: {
        maximumRetryAttempts: this.delivery.retryAttempts,
        maximumEventAgeInSeconds: this.delivery.maxEventAge.toSeconds({ integral: true }),
      },
      deadLetterConfig: { arn: this.delivery.deadLetterQueue.queueArn },
      targetResource: this.fn,
    };
  }
}

/**
 * What `BusRuleFunction` leaves out, once for every rule of `bus`: EventBridge may
 * invoke `fn` for a rule of this bus (one permission, its source ARN a wildcard on
 * the bus's rules, which Lambda matches with ArnLike) and write that rule's dead
 * letters into `deadLetterQueue` (one statement, likewise).
 */
export function allowRulesOfBus(bus: events.IEventBus, fn: lambda.IFunction, deadLetterQueue: sqs.IQueue, id: string): void {
  const stack = Stack.of(bus);
  // A rule of a custom bus is rule/<bus>/<rule>: the wildcard covers this bus's rules only.
  const rulesOfBus = stack.formatArn({ service: 'events', resource: 'rule', resourceName: `${bus.eventBusName}/*` });
  const principal = new iam.ServicePrincipal('events.amazonaws.com');
  fn.addPermission(id, { principal, action: 'lambda:InvokeFunction', sourceArn: rulesOfBus, sourceAccount: stack.account });
  deadLetterQueue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: id,
      principals: [principal],
      actions: ['sqs:SendMessage'],
      resources: [deadLetterQueue.queueArn],
      conditions: { ArnLike: { 'aws:SourceArn': rulesOfBus } },
    }),
  );
}
