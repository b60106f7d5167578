import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Lazy, NestedStack, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ConsentMode } from '../../../shared';
import { ENV } from '../../../shared/config/env';
import { JOURNEY_ALIAS, JOURNEY_BUNDLE, JOURNEY_ENV } from '../../../shared/config/journey-env';
import { releaseOfFolder, type CompiledJourney } from '../../../workflows/journeys';
import { journeyTriggerRules, RUN_ENDED } from '../../topology';
import { JOURNEY_TABLE_ACCESS, JOURNEYS } from '../defaults';
import { rapportFunction, type BundledFiles } from '../function';
import { endpointArnPrefix } from '../../../shared/channels';
import { channelsSentOn, journeyStackId, journeyStackIndex, stateMachineName, stateMachineNamePrefix, templateFiles } from '../journeys';
import type { RapportEmail, RapportOutboundWebhook, RapportPush, RapportSendPolicy, RapportSms, RapportWhatsApp } from '../rapport';
import { allowRulesOfBus, BusRuleFunction, SqsOnFailure } from '../targets';
import { eventPattern, grantProfileTable, type AreaContext } from './context';

export interface JourneysAreaProps {
  /** The compiled journeys, in file order. */
  readonly journeys: readonly CompiledJourney[];
  readonly bus: events.EventBus;
  readonly deadLetterQueue: sqs.Queue;
  readonly profileTable: dynamodb.TableV2;
  /** The profile functions' variables, config files and functions (the consumer routes journeys, erasure stops them). */
  readonly profileEnvironment: Readonly<Record<string, string>>;
  readonly configFiles: BundledFiles;
  readonly journeysFileBundle: BundledFiles;
  readonly profileConsumerFunction: nodejs.NodejsFunction;
  readonly customerApiFunction: nodejs.NodejsFunction;
  /** The daily sweep: it reconciles runs whose end was never reported (DescribeExecution). */
  readonly sweepFunction: nodejs.NodejsFunction;
  /** Signs the one-click unsubscribe links; the ingest stage serves them (`PUBLIC_URL`). */
  readonly unsubscribeSecret: secretsmanager.ISecret;
  readonly httpStage: apigwv2.HttpStage;
  readonly consentMode: ConsentMode;
  /** Absolute folder of the message templates. */
  readonly templatesDir: string;
  /** Absolute folder of the kept journey releases (`<journey id>/v<version>/`); may not exist. */
  readonly releasesDir: string;
  readonly email: RapportEmail;
  readonly sms?: RapportSms;
  readonly whatsapp?: RapportWhatsApp;
  readonly push?: RapportPush;
  readonly outboundWebhooks: Readonly<Record<string, RapportOutboundWebhook>>;
  readonly sendPolicy: Required<RapportSendPolicy>;
  /** `RapportProps.journeyStacks`: 1 builds each journey in `scope`, more in that many nested stacks. */
  readonly journeyStacks: number;
}

/** Journeys: trigger rules -> starter -> state machines -> step function; the router runs in the consumer. */
export class JourneysArea {
  public readonly outboundWebhookSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  public readonly journeyStepFunction: nodejs.NodejsFunction;
  public readonly journeyLogGroup: logs.LogGroup;
  public readonly journeyStateMachineNamePrefix: string;
  public readonly journeyStateMachineRole: iam.Role;
  public readonly journeyStateMachines: ReadonlyMap<string, sfn.StateMachine>;
  /**
   * Each journey's published version (one per change of its machine, kept: RETAIN) and the alias new runs
   * start through (`JOURNEY_ALIAS`, 100% to that version).
   */
  public readonly journeyReleases: ReadonlyMap<string, { readonly version: sfn.CfnStateMachineVersion; readonly alias: sfn.CfnStateMachineAlias }>;
  public readonly journeyStarterFunction: nodejs.NodejsFunction;
  public readonly journeyRunEndedFunction: nodejs.NodejsFunction;
  public readonly journeyTriggerRules: ReadonlyMap<string, readonly events.Rule[]>;
  public readonly journeyRunEndedRule?: events.Rule;
  /** What a function that sends through the send gateway reads: the step function's variables and bundled files (broadcasts use them too). */
  public readonly sendEnvironment: Readonly<Record<string, string>>;
  public readonly sendBundledFiles: readonly BundledFiles[];
  /** The kept releases of older journey versions in the step function's bundle: `releases/<journey id>/v<version>/`. */
  public readonly releaseBundles: readonly BundledFiles[];
  /**
   * What the step function may send with (SES from the sender address only; the SMS identity; WhatsApp's phone number
   * and push's application endpoints when a journey sends on them).
   */
  public readonly sendStatements: readonly iam.PolicyStatement[];
  /**
   * What the broadcast page function reads and may send with: the step's, with WhatsApp and push wherever the
   * deployment gives their setting (a broadcast, made at run time, may send on any channel the deployment has).
   */
  public readonly broadcastSendEnvironment: Readonly<Record<string, string>>;
  public readonly broadcastSendStatements: readonly iam.PolicyStatement[];
  /**
   * The nested stacks holding the journeys' own resources, by construct id (`JourneyStack1`, ...), when
   * `journeyStacks` > 1; only those a journey falls in (CloudFormation refuses a stack without resources).
   */
  public readonly journeyNestedStacks: ReadonlyMap<string, NestedStack>;

  constructor(
    private readonly ctx: AreaContext,
    props: JourneysAreaProps,
  ) {
    const { scope, stageName, removalPolicy, key, logGroup } = ctx;
    const resolved = props;
    const stack = Stack.of(scope);

    const webhookSecrets = new Map<string, secretsmanager.ISecret>();
    for (const [name, webhook] of Object.entries(resolved.outboundWebhooks)) {
      webhookSecrets.set(
        name,
        webhook.secretArn !== undefined
          ? secretsmanager.Secret.fromSecretCompleteArn(scope, `OutboundWebhookSecret-${name}`, webhook.secretArn)
          : new secretsmanager.Secret(scope, `OutboundWebhookSecret-${name}`, {
              description: `Rapport ${stageName}: Standard Webhooks secret of outbound webhook "${name}" (base64; the receiver verifies with whsec_<value>)`,
              // Letters and digits only: a valid base64 body, 36 bytes of key.
              generateSecretString: { excludePunctuation: true, passwordLength: 48 },
              removalPolicy,
              ...(key !== undefined && { encryptionKey: key }),
            }),
      );
    }
    this.outboundWebhookSecrets = webhookSecrets;

    const { email, sms, sendPolicy } = resolved;
    // WhatsApp is configured for the step function only when a journey sends on it (its grant follows); for the
    // broadcast page function whenever the setting is given.
    const whatsapp = resolved.whatsapp !== undefined && channelsSentOn(props.journeys).has('whatsapp') ? resolved.whatsapp : undefined;
    // Push likewise.
    const push = resolved.push !== undefined && channelsSentOn(props.journeys).has('push') ? resolved.push : undefined;
    const optionalChannelsEnvironment = (w: RapportWhatsApp | undefined, p: RapportPush | undefined): Record<string, string> => ({
      ...(w !== undefined && { [JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID]: w.phoneNumberId }),
      ...(w?.metaApiVersion !== undefined && { [JOURNEY_ENV.WHATSAPP_META_API_VERSION]: w.metaApiVersion }),
      ...(p !== undefined && { [JOURNEY_ENV.PUSH_PLATFORM_APPLICATION_ARN]: p.platformApplicationArn }),
    });
    const profileEnvironment = props.profileEnvironment;
    const configFiles = props.configFiles;
    const journeysFileBundle = props.journeysFileBundle;
    this.sendEnvironment = {
      ...profileEnvironment,
      [JOURNEY_ENV.TEMPLATES_DIR]: JOURNEYS.bundledTemplatesDir,
      [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: email.fromAddress,
      ...(email.configurationSet !== undefined && { [JOURNEY_ENV.EMAIL_CONFIGURATION_SET]: email.configurationSet }),
      ...(sms !== undefined && { [JOURNEY_ENV.SMS_ORIGINATION_IDENTITY]: sms.originationIdentity }),
      ...optionalChannelsEnvironment(whatsapp, push),
      [JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS]: stack.toJsonString(
        Object.fromEntries(
          [...webhookSecrets].map(([name, secret]) => [name, { url: resolved.outboundWebhooks[name]?.url, secretArn: secret.secretArn }]),
        ),
      ),
      [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({
        frequencyCap: sendPolicy.frequencyCap,
        frequencyWindowDays: sendPolicy.frequencyWindowDays,
        frequencyCapMaxDelayDays: sendPolicy.frequencyCapMaxDelayDays,
        quietHours: sendPolicy.quietHours === false ? null : { start: sendPolicy.quietHours.start, end: sendPolicy.quietHours.end },
        defaultTimeZone: sendPolicy.defaultTimeZone,
      }),
      [ENV.UNSUBSCRIBE_SECRET]: props.unsubscribeSecret.secretArn,
      // One-click unsubscribe links point at the ingest API, which serves /v1/unsubscribe.
      [ENV.PUBLIC_URL]: props.httpStage.url,
    };
    this.sendBundledFiles = [configFiles, { folder: JOURNEYS.bundledTemplatesFolder, files: templateFiles(resolved.templatesDir) }];
    this.releaseBundles = releaseBundles(resolved.releasesDir, resolved.journeys);
    this.journeyStepFunction = rapportFunction(scope, 'JourneyStepFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: runs journey steps (send, branch, split, tag, update, webhook, waits)`,
      ...JOURNEYS.step,
      logGroup: logGroup('JourneyStepLogs'),
      environment: this.sendEnvironment,
      // Broadcasts send with the current templates only; journey runs of older versions, with their release's.
      bundledFiles: [...this.sendBundledFiles, ...this.releaseBundles],
    });

    this.journeyLogGroup = logGroup('JourneyLogs');
    this.journeyStateMachineNamePrefix = stateMachineNamePrefix(stageName);
    // Every journey's state machine is named Rapport-<stage>_<journey id>: grants, the run-ended rule and
    // the functions name them all by this prefix, so none of them grows with the number of journeys.
    const stateMachineArnPrefix = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.journeyStateMachineNamePrefix,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.journeyStateMachineRole = this.#journeyStateMachineRole(stageName, stateMachineArnPrefix, key);
    // CDK adds each machine's log, trace and key statements to its role: one set per machine, a policy
    // growing with the journeys (the key's differ by machine). The shared role has them once, for all.
    const sharedRole = this.journeyStateMachineRole.withoutPolicyUpdates();
    const stateMachines = new Map<string, sfn.StateMachine>();
    const releases = new Map<string, { version: sfn.CfnStateMachineVersion; alias: sfn.CfnStateMachineAlias }>();
    // Where each journey's own resources live: `scope` itself (one stack, the logical ids of a single-stack
    // deployment), or the nested stack its id falls in; shared things stay in `scope` and are referenced.
    const nestedStacks = new Map<string, NestedStack>();
    const journeyParent = (journeyId: string): Construct => {
      if (props.journeyStacks <= 1) return scope;
      const id = journeyStackId(journeyStackIndex(journeyId, props.journeyStacks));
      let nested = nestedStacks.get(id);
      if (nested === undefined) {
        nested = new NestedStack(scope, id, {
          description: `Rapport ${stageName}: the state machines, versions, aliases and alarms of the journeys whose ids fall in ${id}`,
        });
        nestedStacks.set(id, nested);
      }
      return nested;
    };
    for (const journey of props.journeys) {
      const journeyScope = new Construct(journeyParent(journey.id), `Journey-${journey.id}`);
      const stateMachine = new sfn.StateMachine(journeyScope, 'StateMachine', {
        stateMachineName: stateMachineName(stageName, journey.id),
        stateMachineType: sfn.StateMachineType.STANDARD,
        role: sharedRole,
        definitionBody: sfn.DefinitionBody.fromString(Stack.of(journeyScope).toJsonString(journey.definition)),
        // Executions carry ids only, but their data stays out of the logs all the same.
        logs: { destination: this.journeyLogGroup, level: JOURNEYS.logLevel, includeExecutionData: false },
        tracingEnabled: true,
        ...(key !== undefined && { encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(key) }),
      });
      // Step Functions checks the role's log delivery permissions when it creates the machine: policy first.
      stateMachine.node.addDependency(this.journeyStateMachineRole);
      Tags.of(stateMachine).add('rapport:journey', journey.id);
      stateMachines.set(journey.id, stateMachine);
      releases.set(journey.id, this.#release(journeyScope, stateMachine, journey));
    }
    this.journeyStateMachines = stateMachines;
    this.journeyReleases = releases;
    this.journeyNestedStacks = nestedStacks;

    const journeyAsyncInvoke = {
      retryAttempts: JOURNEYS.asyncInvoke.retryAttempts,
      maxEventAge: JOURNEYS.asyncInvoke.maxEventAge,
      onFailure: new SqsOnFailure(props.deadLetterQueue),
    };
    this.journeyStarterFunction = rapportFunction(scope, 'JourneyStarterFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: enrols customers in the journeys their events trigger`,
      ...JOURNEYS.starter,
      logGroup: logGroup('JourneyStarterLogs'),
      environment: {
        [ENV.PROFILE_TABLE_NAME]: props.profileTable.tableName,
        [ENV.CONSENT_MODE]: resolved.consentMode,
        [JOURNEY_ENV.JOURNEYS_FILE]: JOURNEYS.bundledJourneysFile,
        [JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]: stateMachineArnPrefix,
      },
      bundledFiles: [journeysFileBundle],
      asyncInvoke: journeyAsyncInvoke,
    });
    this.journeyRunEndedFunction = rapportFunction(scope, 'JourneyRunEndedFunction', {
      ...(key !== undefined && { encryptionKey: key }),
      stageName,
      description: `Rapport ${stageName}: records the end of journey runs and frees their locks`,
      ...JOURNEYS.runEnded,
      logGroup: logGroup('JourneyRunEndedLogs'),
      environment: {
        [ENV.PROFILE_TABLE_NAME]: props.profileTable.tableName,
        [ENV.CONSENT_MODE]: resolved.consentMode,
      },
      asyncInvoke: journeyAsyncInvoke,
    });
    // The router runs in the consumer after each event (afterApply): it reads the same journeys.json.
    // So does the customer API: erasure stops the customer's running journeys before it deletes their items.
    for (const fn of [props.profileConsumerFunction, props.customerApiFunction]) {
      fn.addEnvironment(JOURNEY_ENV.JOURNEYS_FILE, JOURNEYS.bundledJourneysFile);
      fn.addEnvironment(JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX, stateMachineArnPrefix);
    }
    // The sweep reconciles runs whose end was never reported: DescribeExecution by the run's journey id.
    props.sweepFunction.addEnvironment(JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX, stateMachineArnPrefix);

    const triggerRules = new Map<string, events.Rule[]>();
    for (const journey of props.journeys) {
      // In `scope`, whatever the stacks: a rule targets the starter, which waits for every alias (above), so a rule
      // beside the alias in a nested stack would make the nested stack and the starter wait for each other. Here it
      // keeps the logical id it has with one stack.
      const journeyScope = (scope.node.tryFindChild(`Journey-${journey.id}`) as Construct | undefined) ?? new Construct(scope, `Journey-${journey.id}`);
      triggerRules.set(
        journey.id,
        journeyTriggerRules(journey).map(
          (rule) =>
            new events.Rule(journeyScope, rule.id, {
              eventBus: props.bus,
              description: `Rapport ${stageName}: starts journey "${journey.id}"`,
              eventPattern: eventPattern(rule.pattern),
              // No permission or dead-letter statement per rule: allowRulesOfBus below, once for all.
              targets: [new BusRuleFunction(this.journeyStarterFunction, { ...JOURNEYS.triggerRuleDelivery, deadLetterQueue: props.deadLetterQueue })],
            }),
        ),
      );
    }
    this.journeyTriggerRules = triggerRules;
    if ([...triggerRules.values()].some((rules) => rules.length > 0)) allowRulesOfBus(props.bus, this.journeyStarterFunction, props.deadLetterQueue, 'AllowTriggerRulesOfRapportBus');

    const machines = [...stateMachines.values()];
    if (machines.length > 0) {
      // Step Functions reports status changes on the account's default bus, never on a custom one.
      this.journeyRunEndedRule = new events.Rule(scope, RUN_ENDED.id, {
        description: `Rapport ${stageName}: ends of journey executions, to the run-ended function`,
        eventPattern: {
          source: [RUN_ENDED.source],
          detailType: [RUN_ENDED.detailType],
          // By name prefix: the pattern's size does not grow with the journeys (EventBridge allows 2,048 characters).
          detail: { status: [...JOURNEYS.endStatuses], stateMachineArn: [{ prefix: stateMachineArnPrefix }] },
        },
        targets: [
          new eventsTargets.LambdaFunction(this.journeyRunEndedFunction, {
            retryAttempts: JOURNEYS.runEndedRuleDelivery.retryAttempts,
            maxEventAge: JOURNEYS.runEndedRuleDelivery.maxEventAge,
            deadLetterQueue: props.deadLetterQueue,
          }),
        ],
      });
    }

    // Grants: what each function's code path calls, on exactly these resources.
    grantProfileTable(props.profileTable, this.journeyStepFunction, { table: JOURNEY_TABLE_ACCESS.step, indexes: [] });
    grantProfileTable(props.profileTable, this.journeyStarterFunction, { table: JOURNEY_TABLE_ACCESS.starter, indexes: [] });
    grantProfileTable(props.profileTable, this.journeyRunEndedFunction, { table: JOURNEY_TABLE_ACCESS.runEnded, indexes: [] });
    // Tag and update steps change the profile, which publishes derived events (Tag Added, ...).
    props.bus.grantPutEventsTo(this.journeyStepFunction);
    this.journeyStepFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.unsubscribeSecret.secretArn, ...[...webhookSecrets.values()].map((secret) => secret.secretArn)],
      }),
    );
    this.broadcastSendEnvironment = { ...this.sendEnvironment, ...optionalChannelsEnvironment(resolved.whatsapp, resolved.push) };
    const sendStatements = (w: RapportWhatsApp | undefined, p: RapportPush | undefined) => [
      this.#sendEmailStatement(email),
      ...(sms !== undefined ? [new iam.PolicyStatement({ actions: ['sms-voice:SendTextMessage'], resources: [sms.originationIdentity] })] : []),
      ...(w !== undefined ? [this.#sendWhatsAppStatement(w)] : []),
      // Publish to the platform application's endpoints alone (not to topics, not to phone numbers).
      ...(p !== undefined ? [new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [`${endpointArnPrefix(p.platformApplicationArn)}*`] })] : []),
    ];
    this.sendStatements = sendStatements(whatsapp, push);
    this.broadcastSendStatements = sendStatements(resolved.whatsapp, resolved.push);
    for (const statement of this.sendStatements) this.journeyStepFunction.addToRolePolicy(statement);
    if (machines.length > 0) {
      // Journeys' state machines and their executions, by name prefix (Rapport-<stage>_*): one statement
      // of a fixed size for any number of journeys.
      const journeyMachines = `${stateMachineArnPrefix}*`;
      // The starter enrols customers in journeys derived events trigger; the consumer, those customer events trigger.
      // Both start through each machine's alias (`<machine>:live`); IAM authorises a call through an alias or a
      // version on the state machine's own ARN (the Step Functions guide, "Authorization for versions and aliases"),
      // which this prefix matches, as it matches the qualified ARNs.
      for (const fn of [this.journeyStarterFunction, props.profileConsumerFunction]) {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [journeyMachines] }));
        // Their code names `<machine>:live`: updated only once every alias exists (the first deploy with aliases, a
        // new journey), so no start fails with a missing alias while CloudFormation is still creating it.
        for (const { alias } of releases.values()) fn.node.addDependency(alias);
      }
      // The router resumes waiting runs (task tokens of these state machines) and stops converted or exited ones.
      props.profileConsumerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [journeyMachines] }));
      // A wait_for reached at the trigger's time resumes itself when its event was handled first (steps.ts `earlierEvent`).
      this.journeyStepFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:SendTaskSuccess'], resources: [journeyMachines] }));
      // Executions are named per customer and trigger at run time: the state machine's name prefix pins them.
      const executions = stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${this.journeyStateMachineNamePrefix}*:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      // The router stops converted and exited runs; erasure (the customer API, and the sweep finishing an interrupted
      // one) stops every running one; the starter stops a run it started for a customer erased meanwhile (write, then check).
      for (const fn of [props.profileConsumerFunction, props.customerApiFunction, this.journeyStarterFunction, props.sweepFunction]) {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StopExecution'], resources: [executions] }));
      }
      // The sweep asks Step Functions how runs whose end was never reported (a lost status change) ended.
      props.sweepFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }));
    }
  }

  /**
   * A journey's release in Step Functions: a version published from the machine's revision this deploy made,
   * and the alias `JOURNEY_ALIAS` routing every new run to it. The version's description names the journey's
   * version and a hash of its definition: a changed journey changes it, and CloudFormation replaces a version
   * whose description or revision changed, publishing a new one; an unchanged journey leaves the resource as
   * it is (no new version). Replacing would delete the old version: RETAIN keeps it (on replacement and on
   * removal from the template), so the version a run started on stays listed, describable and a rollback
   * target until someone deletes it (docs/operations.md, "Releases"). Step Functions keeps an execution on the
   * revision it started with either way; a deleted version's runs go on ("Deleting a state machine version
   * won't terminate its in-progress executions", DeleteStateMachineVersion).
   */
  #release(scope: Construct, stateMachine: sfn.StateMachine, journey: CompiledJourney) {
    const stack = Stack.of(scope);
    // The definition as deployed, hashed at synth (its step function ARN is a token resolved late, to its
    // CloudFormation reference: the same text on every synth of the same journey).
    const definitionHash = () => createHash('sha256').update(JSON.stringify(stack.resolve(journey.definition))).digest('hex').slice(0, 16);
    const version = new sfn.CfnStateMachineVersion(scope, 'Version', {
      stateMachineArn: stateMachine.stateMachineArn,
      // Publish the revision this deploy made (a machine changed meanwhile by hand fails the publish, not a wrong version).
      stateMachineRevisionId: (stateMachine.node.defaultChild as sfn.CfnStateMachine).attrStateMachineRevisionId,
      description: Lazy.string({ produce: () => `journey ${journey.id} v${journey.version} definition sha256:${definitionHash()}` }),
    });
    version.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const alias = new sfn.CfnStateMachineAlias(scope, 'Alias', {
      name: JOURNEY_ALIAS,
      description: `Rapport: new runs of journey ${journey.id} start on the version the last deploy published`,
      routingConfiguration: [{ stateMachineVersionArn: version.attrArn, weight: 100 }],
    });
    return { version, alias };
  }

  /**
   * The one role of every journey state machine (`Rapport-<stage>_*`), with what CDK would give each
   * machine's own role, stated once: invoke the step function (the compiler's FunctionName, unqualified),
   * deliver execution logs and traces (neither API has resource-level permissions), and with a key,
   * use it for the machines' data (encryption context: a journey machine) and their log delivery.
   */
  #journeyStateMachineRole(stageName: string, stateMachineArnPrefix: string, key: kms.IKey | undefined): iam.Role {
    const stack = Stack.of(this.ctx.scope);
    const journeyMachines = `${stateMachineArnPrefix}*`;
    const role = new iam.Role(this.ctx.scope, 'JourneyStateMachineRole', {
      description: `Rapport ${stageName}: the role of every journey state machine`,
      // Confused-deputy guard: only this stage's journey state machines, in this account, may assume it.
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: { ArnLike: { 'aws:SourceArn': journeyMachines }, StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogDelivery',
          'logs:GetLogDelivery',
          'logs:UpdateLogDelivery',
          'logs:DeleteLogDelivery',
          'logs:ListLogDeliveries',
          'logs:PutResourcePolicy',
          'logs:DescribeResourcePolicies',
          'logs:DescribeLogGroups',
        ],
        resources: ['*'],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'], resources: ['*'] }),
    );
    // Every Task invokes the step function's unqualified ARN (the compiler's FunctionName): that and nothing else.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.journeyStepFunction.functionArn] }));
    if (key !== undefined) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringLike: { 'kms:EncryptionContext:aws:states:stateMachineArn': journeyMachines } },
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:GenerateDataKey'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:EncryptionContext:SourceArn': stack.formatArn({ service: 'logs', resource: '*', arnFormat: ArnFormat.NO_RESOURCE_NAME }) } },
        }),
      );
    }
    return role;
  }

  /**
   * `ses:SendEmail` (SES v2) from `email.fromAddress` only: on the address's and
   * its domain's identities (SES authorises whichever is verified) and on the
   * configuration set, which SES v2 authorises too when one is used.
   */
  /** SendWhatsAppMessage from the configured origination phone number alone (IAM resource type `phone-number-id`). */
  #sendWhatsAppStatement(whatsapp: RapportWhatsApp): iam.PolicyStatement {
    const stack = Stack.of(this.ctx.scope);
    const id = whatsapp.phoneNumberId.replace(/^phone-number-id-/, '');
    return new iam.PolicyStatement({
      actions: ['social-messaging:SendWhatsAppMessage'],
      resources: [stack.formatArn({ service: 'social-messaging', resource: 'phone-number-id', resourceName: id, arnFormat: ArnFormat.SLASH_RESOURCE_NAME })],
    });
  }

  #sendEmailStatement(email: RapportEmail): iam.PolicyStatement {
    const stack = Stack.of(this.ctx.scope);
    const identity = (name: string) => stack.formatArn({ service: 'ses', resource: 'identity', resourceName: name });
    const domain = email.fromAddress.slice(email.fromAddress.lastIndexOf('@') + 1);
    return new iam.PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [
        identity(email.fromAddress),
        identity(domain),
        ...(email.configurationSet !== undefined
          ? [stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: email.configurationSet })]
          : []),
      ],
      conditions: { StringEquals: { 'ses:FromAddress': email.fromAddress } },
    });
  }
}

/**
 * The releases the step function's bundle carries: of each deployed journey, every version and later template
 * release kept in `releasesDir` but the one its current runs start on (they render the current templates, as in the
 * embedded engine): `v<current>` when its files are the current release, `v<current>@<current release>`.
 * Journeys no longer deployed are left out: removing a journey deletes its state machine, and its runs with it.
 */
export function releaseBundles(releasesDir: string, journeys: readonly Pick<CompiledJourney, 'id' | 'version' | 'release'>[]): BundledFiles[] {
  const order = (name: string) => Number(/^v(\d+)/.exec(name)![1]);
return journeys.flatMap((journey) => {
    const dir = path.join(releasesDir, journey.id);
    if (!existsSync(dir)) return [];
    const current = (name: string) =>
      name === `v${journey.version}@${journey.release}` || (name === `v${journey.version}` && (journey.release === undefined || releaseOfFolder(path.join(dir, name)) === journey.release));
    return readdirSync(dir)
      .filter((name) => /^v\d+(@[0-9a-f]{16})?$/.test(name) && !current(name))
      .sort((a, b) => order(a) - order(b) || a.localeCompare(b))
      .map((name) => ({
        folder: path.posix.join(JOURNEY_BUNDLE.releasesFolder, journey.id, name),
        files: templateFiles(path.join(dir, name)),
      }));
  });
}
