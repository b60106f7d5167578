import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import type { Rapport } from './rapport';

/**
 * The cdk-nag findings (AwsSolutions and Serverless packs) Rapport accepts, each
 * on the one construct it concerns, with the reason a reviewer can judge.
 * `tests/infra/nag.test.ts` runs both packs and fails on any other finding.
 *
 * cdk-nag v3 reads these acknowledgements from `Validations`; each wildcard
 * finding is acknowledged by its exact id (`AwsSolutions-IAM5[Resource::...]`),
 * so a new wildcard elsewhere is still reported.
 */
export function acknowledgeNagFindings(rapport: Rapport): void {
  const ack = (scope: IConstruct | undefined, id: string, reason: string) => {
    if (scope !== undefined) Validations.of(scope).acknowledge({ id, reason });
  };

  // ---- the dead-letter queue ----
  const dlq = rapport.deadLetterQueue;
  const isDlq =
    'This queue is itself the dead-letter queue of every asynchronous delivery (bus rule targets, the sweep schedule, Lambda on-failure destinations); a DLQ of a DLQ would only move the problem. Its depth alarms and docs/operations.md says how to redrive it.';
  ack(dlq, 'AwsSolutions-SQS3', isDlq);
  ack(dlq, 'Serverless-SQSRedrivePolicy', isDlq);

  // ---- secrets without automatic rotation ----
  for (const [sourceId, secret] of rapport.sourceSecrets) {
    ack(
      secret,
      'AwsSolutions-SMG4',
      `The secrets of source "${sourceId}" are shared with the sending system (Standard Webhooks secrets, Segment write keys); rotation needs the sender's cooperation. The secret holds a list, so an operator rotates with an overlap (add the new secret, switch the sender, remove the old); the function re-reads it every 5 minutes.`,
    );
  }
  ack(
    rapport.unsubscribeSecret,
    'AwsSolutions-SMG4',
    'The key signs the one-click unsubscribe links in messages already delivered, which must keep working (RFC 8058); an automatic rotation would replace the value and break them. The secret may hold a JSON list of keys, newest first (the first signs, all verify), re-read every 5 minutes, so an operator rotates with an overlap (see docs/operations.md).',
  );
  for (const [name, secret] of rapport.outboundWebhookSecrets) {
    ack(
      secret,
      'AwsSolutions-SMG4',
      `The Standard Webhooks secret of outbound webhook "${name}" is shared with its receiver, which must be given the new value at the same time; rotation is a coordinated, manual change. The step function re-reads it every 5 minutes.`,
    );
  }

  // ---- ingest routes without gateway authorization ----
  for (const route of rapport.httpApi.node.children) {
    if (!route.node.id.includes('--v1--')) continue;
    ack(
      route,
      'AwsSolutions-APIG4',
      route.node.id.includes('unsubscribe')
        ? 'One-click unsubscribe links are opened by mail clients and recipients, who cannot sign requests; the link carries an HMAC (the unsubscribe secret) that the function verifies before anything changes.'
        : 'Webhook senders and Segment SDKs cannot sign AWS requests; the function verifies every request (Standard Webhooks HMAC signature with timestamp, or the Segment write key) against the source secrets before accepting anything, and the stage is throttled.',
    );
  }

  // ---- wildcard resources that the services require ----
  const functions = [
    rapport.ingestFunction,
    rapport.profileConsumerFunction,
    rapport.sweepFunction,
    rapport.customerApiFunction,
    rapport.journeyStepFunction,
    rapport.journeyStarterFunction,
    rapport.journeyRunEndedFunction,
    rapport.sesFeedbackFunction,
    rapport.broadcastApiFunction,
    rapport.broadcastPageFunction,
  ];
  for (const fn of functions) {
    ack(
      fn.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) name "*": X-Ray has no resource-level permissions. Every other statement names its resources; tests/infra assert each statement.',
    );
  }
  ack(
    rapport.journeyStateMachineRole,
    'AwsSolutions-IAM5[Resource::*]',
    'Only the log delivery (logs:CreateLogDelivery, ...) and X-Ray actions name "*": neither has resource-level permissions. The only other statements invoke the step function, by its ARN, and (with a key) use the key, by its ARN.',
  );
  ack(
    rapport.broadcastStateMachine.role,
    'AwsSolutions-IAM5[Resource::*]',
    'Only the log delivery (logs:CreateLogDelivery, ...) and X-Ray actions CDK adds name "*": neither has resource-level permissions. The only other statements invoke the broadcast page function, by its ARN, and (with a key) use the key.',
  );
  const stack = Stack.of(rapport);
  // cdk-nag renders pseudo parameters as <AWS::...>, literal ones (a stack with env) as they are.
  const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  const region = shown(stack.region, 'Region');
  const account = shown(stack.account, 'AccountId');
  if (rapport.journeyStateMachines.size > 0) {
    // Every journey's state machine is named Rapport-<stage>_<journey id>; the grants name them by that prefix.
    const prefix = rapport.journeyStateMachineNamePrefix;
    const machines = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:stateMachine:${prefix}*]`;
    const executions = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:${prefix}*:*]`;
    const byPrefix = `the journeys' state machines are named ${prefix}<journey id> (stage names and journey ids hold no "_", so no other stage's machine matches); naming them by that prefix keeps the policy one statement for any number of journeys (an ARN list passes IAM's 10,240 characters of inline policy near 100 journeys).`;
    const perCustomer = 'execution names are made per customer and trigger at run time, so the name after the machine is a wildcard too.';
    ack(rapport.journeyStarterFunction.role, machines, `StartExecution on the journeys' state machines: ${byPrefix}`);
    ack(rapport.profileConsumerFunction.role, machines, `SendTaskSuccess and StartExecution on the journeys' state machines (the router resumes waiting runs; the consumer enrols customers in the journeys their events trigger, once it applied the event): ${byPrefix}`);
    ack(rapport.journeyStepFunction.role, machines, `SendTaskSuccess on the journeys' state machines (a wait_for resumes itself on an event handled before it): ${byPrefix}`);
    ack(
      rapport.sweepFunction.role,
      executions,
      `DescribeExecution and StopExecution on the journeys' executions (the sweep reconciles runs whose end was never reported: status-change events are best-effort; it finishes interrupted erasures, which stop the customer's running journeys): ${byPrefix} ${perCustomer}`,
    );
    ack(rapport.profileConsumerFunction.role, executions, `StopExecution on the journeys' executions (the router stops converted and exited runs): ${byPrefix} ${perCustomer}`);
    ack(
      rapport.journeyStarterFunction.role,
      executions,
      `StopExecution on the journeys' executions (a run started for a customer erased meanwhile is stopped at once): ${byPrefix} ${perCustomer}`,
    );
    ack(
      rapport.customerApiFunction.role,
      executions,
      `StopExecution on the journeys' executions (erasure stops the customer's running journeys before deleting their items): ${byPrefix} ${perCustomer}`,
    );
  }

  // ---- the alarm e-mail ----
  for (const subscription of rapport.alarmTopic.node.children) {
    if (!(subscription instanceof sns.Subscription)) continue;
    ack(
      subscription,
      'Serverless-SNSRedrivePolicy',
      'The alarm e-mail subscription: SNS retries e-mail delivery itself, and an undelivered notification loses nothing (the alarm stays in ALARM, on the dashboard and in the console). A dead-letter queue for it would raise the dead-letter alarm, whose notification goes the same way.',
    );
  }

  // ---- functions without a Lambda DLQ ----
  const synchronous = (caller: string) =>
    `Invoked synchronously by ${caller}, which receives the error; a Lambda dead-letter queue applies to asynchronous invocations only.`;
  ack(rapport.ingestFunction, 'Serverless-LambdaDLQ', synchronous('API Gateway (the sender gets a 5xx and retries)'));
  ack(rapport.customerApiFunction, 'Serverless-LambdaDLQ', synchronous('API Gateway (the operator sees the error)'));
  ack(rapport.broadcastApiFunction, 'Serverless-LambdaDLQ', synchronous('API Gateway (the operator sees the error and posts again: a broadcast is idempotent on its id)'));
  ack(
    rapport.broadcastPageFunction,
    'Serverless-LambdaDLQ',
    synchronous('Step Functions (each page retries with backoff; every recipient is claimed, so a retry sends nobody twice; a failed execution can be redriven)'),
  );
  ack(
    rapport.journeyStepFunction,
    'Serverless-LambdaDLQ',
    synchronous('Step Functions (each Task retries with backoff, then takes its failure path; a failed execution alarms and can be redriven)'),
  );
  const onFailure =
    'Asynchronous invocations are retried and then sent to the dead-letter queue by an on-failure destination (EventInvokeConfig), which carries the error and the request, unlike the older DeadLetterConfig this rule looks for.';
  for (const fn of [rapport.profileConsumerFunction, rapport.sweepFunction, rapport.journeyStarterFunction, rapport.journeyRunEndedFunction, rapport.sesFeedbackFunction]) {
    ack(fn, 'Serverless-LambdaDLQ', onFailure);
  }

  // ---- the ingest firewall's distribution (ingestFirewall) ----
  const distribution = rapport.ingestDistribution;
  ack(
    distribution,
    'AwsSolutions-CFR1',
    'Senders (servers, SDKs, mail clients clicking unsubscribe links) may be anywhere; the web ACL limits each client IP by rate and the managed rules block known-bad requests, which a country list would not.',
  );
  ack(
    distribution,
    'AwsSolutions-CFR3',
    "Every request that passes the web ACL reaches the ingest stage, whose access log (ApiAccessLogs) records it with the caller's IP; blocked ones are in WAF's metrics and sampled requests. A CloudFront log bucket would be a third copy of customer traffic to secure and expire.",
  );
  ack(
    distribution,
    'AwsSolutions-CFR4',
    "The distribution uses CloudFront's default *.cloudfront.net certificate, for which CloudFront fixes the minimum protocol (TLSv1); a higher minimum needs a custom domain and certificate, which Rapport does not manage. The origin leg (CloudFront to API Gateway) is HTTPS only, and API Gateway accepts TLS 1.2 and later.",
  );
}
