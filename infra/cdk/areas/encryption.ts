import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/**
 * What a principal needs of the customer-managed key to use the tables, secrets,
 * bus and queue it encrypts; no wildcard (the stock grantEncryptDecrypt adds `kms:ReEncrypt*`).
 */
export const KEY_USER_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];

/** Why `encryptionKey` cannot be used in `scope`'s stack, if it cannot. */
export function encryptionProblems(scope: Construct, key: kms.IKey | undefined): string[] {
  return key !== undefined && Token.isUnresolved(Stack.of(scope).region)
    ? ['encryptionKey needs a stack with an explicit region (env: { region }): DynamoDB tables name their customer-managed key per region']
    : [];
}

/**
 * Encryption: the customer-managed key's policy and its users. The other areas
 * encrypt their own resources with the key (`AreaContext.key`); this one lets the
 * services and the functions use it. Built first (log groups need the logs
 * statement) and finished last (`grantUsers`, once every function exists).
 */
export class EncryptionArea {
  constructor(
    private readonly scope: Construct,
    public readonly key: kms.IKey,
  ) {
    allowLogsToUse(key, Stack.of(scope));
  }

  /** Every function (and the sweep's schedule role) uses the key; EventBridge writes the rules' dead letters with it. */
  grantUsers(grantees: readonly iam.IGrantable[]): void {
    const key = this.key;
    // Tables, secrets, the bus and the dead-letter queue are encrypted with the key: every function uses it.
    for (const grantee of grantees) key.grant(grantee, ...KEY_USER_ACTIONS);
    // EventBridge writes the rules' dead letters into the encrypted queue.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeWritesDeadLettersOfRapportRules',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'], // in a key policy, "*" is this key
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this.scope).account } },
      }),
    );
  }
}

/**
 * Lets CloudWatch Logs encrypt this account's log groups with `key` (what the
 * service needs, limited by encryption context to log groups of this account and region).
 */
function allowLogsToUse(key: kms.IKey, stack: Stack): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsEncryptsRapportLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'], // in a key policy, "*" is this key
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }),
  );
}
