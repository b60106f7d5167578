import type { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { INGEST } from '../defaults';
import type { AreaContext } from './context';

export interface BusAreaProps {
  /** How long the archive keeps events for replay. */
  readonly eventArchiveRetention: Duration;
}

/**
 * The backbone every other area uses: the Rapport event bus with its archive,
 * and the one dead-letter queue of every asynchronous delivery.
 */
export class BusArea {
  public readonly bus: events.EventBus;
  public readonly eventArchive: events.Archive;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(ctx: AreaContext, props: BusAreaProps) {
    const { scope, stageName, removalPolicy, key } = ctx;
    this.bus = new events.EventBus(scope, 'EventBus', {
      description: `Rapport ${stageName}: customer events`,
      ...(key !== undefined && { kmsKey: key }),
    });
    this.bus.applyRemovalPolicy(removalPolicy);
    this.eventArchive = new events.Archive(this.bus, 'Archive', {
      sourceEventBus: this.bus,
      description: `Rapport ${stageName}: every event on the bus, for replay`,
      eventPattern: {}, // no pattern: the archive keeps every event
      retention: props.eventArchiveRetention,
    });
    if (key !== undefined) {
      // Not the Archive's kmsKey prop: its key policy statement names the bus by GetAtt, a cycle with a bus on
      // the same key. The bus's own statement already lets EventBridge use the key for this bus's events.
      (this.eventArchive.node.defaultChild as events.CfnArchive).kmsKeyIdentifier = key.keyArn;
    }
    this.eventArchive.applyRemovalPolicy(removalPolicy);

    this.deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
      ...(key !== undefined ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key } : { encryption: sqs.QueueEncryption.SQS_MANAGED }),
      enforceSSL: true,
      retentionPeriod: INGEST.deadLetterRetention,
      removalPolicy,
    });
  }
}
