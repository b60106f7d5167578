import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Rapport } from './rapport';
import type { RapportProps } from './rapport';

export interface RapportStackProps extends StackProps, RapportProps {}

/** One deployable Rapport: the `Rapport` construct and the outputs an operator needs after a deploy. */
export class RapportStack extends Stack {
  public readonly rapport: Rapport;

  constructor(scope: Construct, id: string, props: RapportStackProps) {
    super(scope, id, props);
    this.rapport = new Rapport(this, 'Rapport', props);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the ingest API (POST /v1/events, /v1/track, /v1/batch, ...)',
      value: this.rapport.httpStage.url,
    });
    new CfnOutput(this, 'EventBusName', {
      description: 'EventBridge bus that receives every Rapport event',
      value: this.rapport.bus.eventBusName,
    });
    new CfnOutput(this, 'CustomerApiUrl', {
      description: 'Base URL of the IAM-authorised customer admin API (GET/DELETE /v1/customers/{id}, .../events, .../export); sign requests with SigV4',
      value: this.rapport.customerApiStage.url,
    });
    new CfnOutput(this, 'ProfileTableName', {
      description: 'DynamoDB table of customer profiles, timelines and aliases',
      value: this.rapport.profileTable.tableName,
    });
    new CfnOutput(this, 'JourneyStateMachineArns', {
      description: 'Step Functions state machine ARN of each journey, by journey id',
      value: this.toJsonString(
        Object.fromEntries([...this.rapport.journeyStateMachines].map(([journeyId, stateMachine]) => [journeyId, stateMachine.stateMachineArn])),
      ),
    });
    new CfnOutput(this, 'OutboundWebhookSecretArns', {
      description: 'Secrets Manager ARN of each outbound webhook, by name; its value is the Standard Webhooks secret the receiver verifies with',
      value: this.toJsonString(
        Object.fromEntries([...this.rapport.outboundWebhookSecrets].map(([name, secret]) => [name, secret.secretArn])),
      ),
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic every Rapport alarm notifies; subscribe on-call tools to it (alarmEmail is subscribed already)',
      value: this.rapport.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'CloudWatch dashboard of this stage',
      value: this.rapport.observability.dashboard.dashboardName,
    });
    new CfnOutput(this, 'DeadLetterQueueArn', {
      description: 'Dead-letter queue of every asynchronous delivery; docs/operations.md says how to redrive it',
      value: this.rapport.deadLetterQueue.queueArn,
    });
    new CfnOutput(this, 'EventArchiveArn', {
      description: 'Archive of every event on the bus; docs/operations.md says how to replay it',
      value: this.rapport.eventArchive.archiveArn,
    });
    if (this.rapport.ingestDistribution !== undefined) {
      new CfnOutput(this, 'IngestFirewallUrl', {
        description: 'Base URL of the ingest API behind AWS WAF (CloudFront); senders should post here rather than to ApiUrl',
        value: `https://${this.rapport.ingestDistribution.distributionDomainName}/`,
      });
    }
    new CfnOutput(this, 'SourceSecretArns', {
      description: 'Secrets Manager ARN of each source, by source id; put its webhook secrets and write keys there',
      value: this.toJsonString(
        Object.fromEntries([...this.rapport.sourceSecrets].map(([sourceId, secret]) => [sourceId, secret.secretArn])),
      ),
    });
  }
}
