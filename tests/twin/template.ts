/**
 * The twin's view of a deployment: the stack synthesized as `cdk synth` does, and its
 * CloudFormation intrinsics resolved the way a deploy to one fake account and region would
 * resolve them (names CloudFormation generates, ARNs per resource type), so IAM decisions
 * are made on the same strings AWS compares.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { App, Stack } from 'aws-cdk-lib';
import type { RapportProps } from '../../infra/cdk/rapport';

export const TWIN_ACCOUNT = '123456789012';
export const TWIN_REGION = 'eu-west-1';
export const TWIN_STAGE = 'twin';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

/**
 * What a twin test may deploy beside the twin's own settings: its journeys and templates, and the settings of the
 * channels they send on (WhatsApp's phone number, push's platform application).
 */
export type TwinExtraProps = Partial<Pick<RapportProps, 'journeysDir' | 'templatesDir' | 'whatsapp' | 'push'>>;

/** Folders of the stack the twin deploys: the infra tests' config and the repository's journeys. */
const REPO = path.join(import.meta.dirname, '..', '..');
const CONFIG_DIR = path.join(REPO, 'tests', 'infra', 'fixtures', 'config');

/**
 * Synthesize the stack as `infra/cdk/app.ts` builds it (without bundling the functions' code:
 * the template is what the twin reads) and return its template. Offline: CDK never shells out.
 */
export async function synthTwinTemplate(extra: TwinExtraProps = {}): Promise<CfnTemplate> {
  process.env.CDK_DOCKER = '/nonexistent/docker-must-not-run';
  const { App } = await import('aws-cdk-lib');
  const outdir = mkdtempSync(path.join(tmpdir(), 'rapport-twin-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = await twinStack(app, CONFIG_DIR, extra);
    return app.synth().getStackArtifact(stack.artifactId).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The outbound webhooks the twin's stacks deploy (the template names their URLs; `interceptWebhooks` answers them). */
export const TWIN_WEBHOOKS = { support: { url: 'https://help.shop.example/hooks/rapport' }, supervisor: { url: 'https://help.shop.example/hooks/supervisor' } };

/**
 * The stack the twin deploys, in `app`: Rapport with the config of `configDir`, as the test engines run it (their
 * two sources, SMS, the outbound webhooks), under a customer managed key (`encryptionKey`: tables, secrets, the
 * queue, the bus and the state machines), so that every call's use of the key is authorised too, by the key's
 * policy and the role's. The key is made in the stack before the construct (RapportStack takes a key made before
 * it, another stack's, whose ARN would be an import the twin cannot resolve): the same resources and logical ids
 * as RapportStack's, without its outputs. In the twin's account and region (a key needs an explicit region).
 */
export async function twinStack(app: App, configDir: string, extra: TwinExtraProps = {}): Promise<Stack> {
  const [{ Stack }, kms, { Rapport }] = await Promise.all([import('aws-cdk-lib'), import('aws-cdk-lib/aws-kms'), import('../../infra/cdk/rapport')]);
  const stack = new Stack(app, `Rapport-${TWIN_STAGE}`, { env: { account: TWIN_ACCOUNT, region: TWIN_REGION } });
  new Rapport(stack, 'Rapport', {
    stageName: TWIN_STAGE,
    configDir,
    sources: [{ id: 'default' }, { id: 'shop' }],
    email: { fromAddress: 'journeys@shop.example' },
    // A journey of the channel-failure scenario sends an SMS.
    sms: { originationIdentity: `arn:aws:sms-voice:${TWIN_REGION}:${TWIN_ACCOUNT}:phone-number/phone-twin0000000000000000000000000` },
    outboundWebhooks: TWIN_WEBHOOKS,
    encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
    ...extra,
  });
  return stack;
}

/** A template as deployed: every intrinsic resolvable to the string AWS would see. */
export class Deployed {
  readonly stackName = `Rapport-${TWIN_STAGE}`;
  constructor(
    readonly template: CfnTemplate,
    readonly account = TWIN_ACCOUNT,
    readonly region = TWIN_REGION,
  ) {}

  resource(logicalId: string): CfnResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new Error(`the template has no resource ${logicalId}`);
    return resource;
  }

  /** The physical name: the one the template sets, or one CloudFormation would generate. */
  physicalName(logicalId: string): string {
    const { Type, Properties = {} } = this.resource(logicalId);
    const nameProperty = NAME_PROPERTY[Type];
    const set = nameProperty ? Properties[nameProperty] : undefined;
    if (set !== undefined) return String(this.resolve(set));
    return `${this.stackName}-${logicalId}`.slice(0, 64);
  }

  /** What `Ref` returns for the resource. */
  ref(logicalId: string): string {
    const { Type } = this.resource(logicalId);
    const name = this.physicalName(logicalId);
    switch (Type) {
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.account}/${name}`;
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SecretsManager::Secret':
      case 'AWS::SNS::Topic':
        return this.getAtt(logicalId, 'Arn');
      default:
        return name;
    }
  }

  /** What `Fn::GetAtt` returns (ARNs per resource type). */
  getAtt(logicalId: string, attribute: string): string {
    const { Type } = this.resource(logicalId);
    const name = this.physicalName(logicalId);
    const arn = (service: string, rest: string, region = this.region) => `arn:aws:${service}:${region}:${this.account}:${rest}`;
    if (attribute === 'Arn') {
      switch (Type) {
        case 'AWS::DynamoDB::Table':
        case 'AWS::DynamoDB::GlobalTable':
          return arn('dynamodb', `table/${name}`);
        case 'AWS::Events::EventBus':
          return arn('events', `event-bus/${name}`);
        case 'AWS::SQS::Queue':
          return arn('sqs', name);
        case 'AWS::Lambda::Function':
          return arn('lambda', `function:${name}`);
        case 'AWS::IAM::Role':
          return arn('iam', `role/${name}`, '');
        case 'AWS::StepFunctions::StateMachine':
          return arn('states', `stateMachine:${name}`);
        case 'AWS::SecretsManager::Secret':
          return arn('secretsmanager', `secret:${name}-TwIn00`);
        case 'AWS::Logs::LogGroup':
          return arn('logs', `log-group:${name}:*`);
        case 'AWS::KMS::Key':
          return arn('kms', `key/${name}`);
        case 'AWS::SNS::Topic':
          return arn('sns', name);
        case 'AWS::StepFunctions::StateMachineVersion':
          // The first version Step Functions publishes of the machine (`<machine ARN>:<n>`).
          return `${String(this.resolve(this.resource(logicalId).Properties?.StateMachineArn))}:1`;
        case 'AWS::StepFunctions::StateMachineAlias':
          return this.#aliasArn(logicalId);
        case 'AWS::Events::Rule': {
          // A rule on a custom bus has the bus's name in its ARN; on the default bus, none.
          const bus = this.resource(logicalId).Properties?.EventBusName;
          const busName = bus === undefined ? 'default' : String(this.resolve(bus)).split('/').at(-1)!;
          return arn('events', busName === 'default' ? `rule/${name}` : `rule/${busName}/${name}`);
        }
        case 'AWS::Scheduler::Schedule': {
          const group = this.resource(logicalId).Properties?.GroupName;
          return arn('scheduler', `schedule/${group === undefined ? 'default' : String(this.resolve(group))}/${name}`);
        }
      }
    }
    if (attribute === 'Name' && Type === 'AWS::StepFunctions::StateMachine') return name;
    throw new Error(`the twin cannot resolve Fn::GetAtt ${logicalId}.${attribute} (${Type}): teach tests/twin/template.ts`);
  }

  /** A state machine alias's ARN: its machine's (through the version it routes to) and its name, `<machine ARN>:<name>`. */
  #aliasArn(logicalId: string): string {
    const { Properties = {} } = this.resource(logicalId);
    const [route] = (Properties.RoutingConfiguration as { StateMachineVersionArn: unknown }[] | undefined) ?? [];
    if (!route) throw new Error(`the twin: alias ${logicalId} routes to no version`);
    const versionArn = String(this.resolve(route.StateMachineVersionArn));
    return `${versionArn.slice(0, versionArn.lastIndexOf(':'))}:${String(Properties.Name)}`;
  }

  /** The ARN of every state machine alias the template deploys: what a StartExecution through an alias may name. */
  aliasArns(): Set<string> {
    return new Set(Object.entries(this.template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachineAlias').map(([id]) => this.#aliasArn(id)));
  }

  /** Resolve the intrinsics in a value (a policy document, an environment variable). */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = o[key];
      if (key === 'Ref') return this.#ref(String(arg));
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
        return this.getAtt(id!, attribute!);
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).join(separator);
      }
      if (key === 'Fn::Select') {
        const [index, list] = arg as [number | string, unknown];
        return (this.resolve(list) as unknown[])[Number(index)];
      }
      if (key === 'Fn::Split') {
        const [separator, source] = arg as [string, unknown];
        return String(this.resolve(source)).split(separator);
      }
      if (key === 'Fn::Sub') {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
          if (name in vars) return String(this.resolve(vars[name]));
          const [id, attribute] = name.split('.');
          return attribute ? this.getAtt(id!, attribute) : this.#ref(id!);
        });
      }
      if (key.startsWith('Fn::')) throw new Error(`the twin cannot resolve ${key}: teach tests/twin/template.ts`);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.resolve(v)]));
  }

  #ref(name: string): string {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
    }
    return this.ref(name);
  }

  /** Logical ids of the resources of a type. */
  ofType(type: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id]) => id);
  }
}

/** The property that names a resource, where the template may set it. */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::Events::EventBus': 'Name',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Events::Rule': 'Name',
  'AWS::Scheduler::Schedule': 'Name',
};

/**
 * A copy of the template where the role of the function `serviceName` (its Powertools service
 * name) no longer has `action` in any policy: what a forgotten grant looks like.
 */
export function withoutGrant(template: CfnTemplate, serviceName: string, action: string): CfnTemplate {
  const copy = structuredClone(template);
  const fn = Object.values(copy.Resources).find(
    (r) => r.Type === 'AWS::Lambda::Function' && (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.POWERTOOLS_SERVICE_NAME === serviceName,
  );
  const roleId = (fn?.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
  if (!roleId) throw new Error(`withoutGrant: no function ${serviceName} with a role in the template`);
  const documents = [
    ...((copy.Resources[roleId]?.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? []).map((p) => p.PolicyDocument),
    ...Object.values(copy.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties?.Roles as Array<{ Ref?: string }>).some((ref) => ref.Ref === roleId))
      .map((r) => r.Properties?.PolicyDocument),
  ] as Array<{ Statement: Array<{ Action: string | string[] }> }>;
  let removed = 0;
  for (const document of documents) {
    document.Statement = document.Statement.flatMap((statement) => {
      const actions = [statement.Action].flat();
      const kept = actions.filter((a) => a !== action);
      removed += actions.length - kept.length;
      return kept.length === 0 ? [] : [{ ...statement, Action: kept }];
    });
  }
  if (removed === 0) throw new Error(`withoutGrant: the role of ${serviceName} has no ${action} to remove`);
  return copy;
}
