/**
 * IAM from the template: each AWS call a function makes in the embedded engine is evaluated
 * against that function's role in the synthesized template (inline and attached policies), with
 * @cloud-copilot/iam-simulate, AWS's policy evaluation logic. A test-only module: the simulator is
 * AGPL, a devDependency that no production code imports (eslint enforces it).
 */
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { ENGINE_SECRET, type AccessDenial, type AwsCall, type AwsCallAuthorizer, type FunctionInvocation, type FunctionInvoker } from '../../infra/embedded/authorization';
import { PROFILE_CONSUMER_RULE, RUN_ENDED, SCHEDULES, sesFeedbackRule } from '../../infra/topology';
import { IDEMPOTENCY_TABLE, PROFILE_TABLE } from '../../infra/embedded/engine';
import { SIMULATED_SES } from '../../infra/embedded/outbox';
import { ENV } from '../../shared';
import { BROADCAST_ENV } from '../../shared/config/broadcast-env';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import type { Deployed } from './template';

/**
 * Which template resource each engine resource stands for, by the environment variable that
 * names it to the functions in AWS (the engine's names are its own).
 */
const ENGINE_TABLES: Readonly<Record<string, string>> = {
  [PROFILE_TABLE]: ENV.PROFILE_TABLE_NAME,
  [IDEMPOTENCY_TABLE]: ENV.IDEMPOTENCY_TABLE_NAME,
};

interface PolicyDocument {
  Statement: Array<Record<string, unknown>>;
}

/** A function as deployed: its role and what the role may do. */
interface DeployedFunction {
  /** The function's ARN (what its resource-based policy and the invokers' grants name). */
  arn: string;
  /** The role's name and the function's: the assumed-role session AWS names in a denial. */
  principal: string;
  policies: Array<{ name: string; policy: PolicyDocument }>;
  /** The condition keys its policies test (only those are computed and passed, so decisions cache well). */
  conditionKeys: Set<string>;
  environment: Record<string, string>;
  /** The ARN of its async invocations' on-failure destination, if the template gives it one. */
  onFailure: string | undefined;
}

/** The resource of a dead-letter send from a function without an on-failure destination: refused, the event is lost. */
const NO_DESTINATION = 'no-on-failure-destination';

/** One decision, for tests to assert what was authorised. */
export interface IamDecision {
  functionName: string;
  /** For an invocation of `functionName` by a service: who invoked it (`rule:<name>`, `stateMachine:<id>`, ...). */
  invoker?: string;
  action: string;
  resource: string;
  allowed: boolean;
}

export interface TwinIam {
  authorize: AwsCallAuthorizer;
  /** Every distinct decision made, in order. */
  decisions: IamDecision[];
}

/** An authoriser of the engine's AWS calls by the roles of `deployed`'s functions. */
export function templateIam(deployed: Deployed): TwinIam {
  const functions = deployedFunctions(deployed);
  const tables = deployedTables(deployed);
  const cache = new Map<string, Promise<AccessDenial | undefined>>();
  const decisions: IamDecision[] = [];
  const seen = new Set<string>();

  const fn = (name: string) => {
    const found = functions.get(name);
    if (!found) throw new Error(`the twin: the engine invoked ${name}, a function the template does not deploy (known: ${[...functions.keys()].join(', ')})`);
    return found;
  };
  /** A value the template gives the functions (the same in each that has it). */
  const setting = (name: string) => {
    const values = new Set([...functions.values()].map((f) => f.environment[name]).filter((v) => v !== undefined));
    if (values.size !== 1) throw new Error(`the twin: the functions' ${name} is ${values.size === 0 ? 'never set' : `not one value (${[...values].join(', ')})`}`);
    return [...values][0]!;
  };
  const tableOf = (engineTable: string) => {
    const variable = ENGINE_TABLES[engineTable];
    if (!variable) throw new Error(`the twin: the engine's table ${engineTable} stands for no template table (see ENGINE_TABLES)`);
    const name = setting(variable);
    const table = tables.get(name);
    if (!table) throw new Error(`the twin: ${variable} names ${name}, which is no table of the template`);
    return table;
  };

  const keys = deployedKeys(deployed);
  const evaluate = (functionName: string, action: string, resource: string, context: Record<string, string[]>): Promise<AccessDenial | undefined> => {
    const f = fn(functionName);
    if (resource === NO_DESTINATION) return Promise.resolve({ message: `${f.principal}: the function has no on-failure destination in the template: Lambda discards the failed event` });
    // A KMS key is authorised by its key policy too (which may trust the account's IAM policies, or not): AWS's rule for keys.
    const keyPolicy = action.startsWith('kms:') ? keys.get(resource) : undefined;
    if (action.startsWith('kms:') && !keyPolicy) throw new Error(`the twin: ${resource} is no KMS key of the template (${[...keys.keys()].join(', ')})`);
    const tested = keyPolicy ? new Set([...f.conditionKeys, ...conditionKeysOf(keyPolicy)]) : f.conditionKeys;
    const contextVariables = Object.fromEntries(Object.entries(context).filter(([key]) => tested.has(key.toLowerCase())));
    const key = JSON.stringify([functionName, action, resource, contextVariables]);
    let decided = cache.get(key);
    if (!decided) {
      decided = decide(f, action, resource, contextVariables, deployed.account, keyPolicy);
      cache.set(key, decided);
      void decided.then((denial) => {
        const line = `${functionName} ${action} ${resource} ${denial ? 'denied' : 'allowed'}`;
        if (seen.has(line)) return;
        seen.add(line);
        decisions.push({ functionName, action, resource, allowed: !denial });
      });
    }
    return decided;
  };

  const secrets = deployedSecrets(deployed);
  const queueKeys = deployedQueueKeys(deployed);
  const invocations = new Map<string, Promise<AccessDenial | undefined>>();
  const authorize: AwsCallAuthorizer = async (call) => {
    if (call.service === 'lambda') {
      // A service invoking a function: decided once per invoker and function (the template does not change).
      const key = JSON.stringify([call.functionName, call.invoker]);
      let decided = invocations.get(key);
      if (!decided) {
        decided = authorizeInvocation(call, { deployed, functionArn: (name) => fn(name).arn, setting });
        invocations.set(key, decided);
        // A wiring the template does not deploy rejects (the caller sees it): no decision to record.
        decided.then(
          (denial) => decisions.push({ functionName: call.functionName, invoker: invokerName(call.invoker), action: 'lambda:InvokeFunction', resource: fn(call.functionName).arn, allowed: !denial }),
          () => undefined,
        );
      }
      return decided;
    }
    const requests = requestsOf(call, {
      tableOf,
      secretOf: (id) => secretOf(secrets, engineSecretArn(id, call.functionName, fn(call.functionName).environment), deployed),
      environment: (name) => fn(name).environment,
      bus: () => setting(ENV.EVENT_BUS_NAME),
      stateMachinePrefix: () => setting(JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX),
      onFailure: (name) => fn(name).onFailure,
      queueKey: (arn) => queueKeys.get(arn),
      deployed,
    });
    // Fail closed: a call the twin cannot map to IAM requests is a gap in the twin, not a pass.
    if (requests.length === 0) throw new Error(`the twin cannot tell what ${call.service}:${call.operation} of ${call.functionName} touches: teach tests/twin/iam.ts`);
    for (const request of requests) {
      const denial = await evaluate(call.functionName, request.action, request.resource, request.context);
      if (denial) return denial;
    }
    return undefined;
  };
  return { authorize, decisions };
}

interface DeployedTable {
  arn: string;
  name: string;
  /** Partition key attribute of the table and of each index. */
  hashKey: string;
  indexHashKeys: Record<string, string>;
  /** The ARN of its customer managed key, if it has one. */
  kmsKey: string | undefined;
}

/**
 * A service's use of a customer managed key on the caller's behalf (with the caller's permissions: the key policy's
 * and the role's), as the service's documentation says it calls KMS: `kms:ViaService` the service's endpoint,
 * `kms:CallerAccount` the caller's account, and the encryption context it uses.
 */
function keyUse(action: 'kms:Decrypt' | 'kms:GenerateDataKey', key: string, service: string, deployed: Deployed, encryptionContext: Record<string, string>): IamRequest {
  return {
    action,
    resource: key,
    context: {
      'kms:ViaService': [`${service}.${deployed.region}.amazonaws.com`],
      'kms:CallerAccount': [deployed.account],
      ...Object.fromEntries(Object.entries(encryptionContext).map(([name, value]) => [`kms:EncryptionContext:${name}`, [value]])),
    },
  };
}

/**
 * DynamoDB under a customer managed key: each request to the table has DynamoDB decrypt the table key with the
 * caller's permissions (kms:Decrypt, with the table's name and the account as encryption context); DynamoDB caches
 * the plaintext table key for minutes, but refuses the call when the caller may not use the key.
 * (docs.aws.amazon.com/kms/latest/developerguide/services-dynamodb.html)
 */
function tableKeyUse(table: DeployedTable, deployed: Deployed): IamRequest[] {
  if (table.kmsKey === undefined) return [];
  return [keyUse('kms:Decrypt', table.kmsKey, 'dynamodb', deployed, { 'aws:dynamodb:tableName': table.name, 'aws:dynamodb:subscriberId': deployed.account })];
}

interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string[]>;
}

/** The IAM requests one call makes: action, resource ARN and context keys, as AWS authorises it. */
function requestsOf(
  call: AwsCall,
  at: {
    tableOf: (name: string) => DeployedTable;
    secretOf: (secretId: string) => DeployedSecret;
    /** The function's environment in the template: what names the deployment's stand-ins for the engine's. */
    environment: (functionName: string) => Record<string, string>;
    bus: () => string;
    stateMachinePrefix: () => string;
    onFailure: (functionName: string) => string | undefined;
    /** The customer managed key of the queue with this ARN, if it has one. */
    queueKey: (queueArn: string) => string | undefined;
    deployed: Deployed;
  },
): IamRequest[] {
  if (call.service === 'lambda') throw new Error('the twin authorises an invocation by a service with authorizeInvocation, not as a call of the function');
  if (call.service === 'states' && 'stateMachine' in call) {
    // A broadcast's execution: on the broadcast state machine the function's environment names.
    const stateMachine = at.environment(call.functionName)[BROADCAST_ENV.STATE_MACHINE_ARN];
    if (stateMachine === undefined) throw new Error(`the twin: ${call.functionName} starts a broadcast, but its template environment names no ${BROADCAST_ENV.STATE_MACHINE_ARN}`);
    return [{ action: 'states:StartExecution', resource: stateMachine, context: {} }];
  }
  if (call.service === 'states') {
    const stateMachine = `${at.stateMachinePrefix()}${call.journeyId}`;
    const action = `states:${call.operation}`;
    if (call.operation === 'StopExecution' || call.operation === 'DescribeExecution') return [{ action, resource: `${stateMachine.replace(':stateMachine:', ':execution:')}:${call.executionName}`, context: {} }];
    // StartExecution through an alias is authorised on the state machine's own ARN, the alias in the context
    // ("Authorization for versions and aliases", AWS Step Functions developer guide).
    if (call.operation === 'StartExecution' && call.qualifier !== undefined) return [{ action, resource: stateMachine, context: { 'states:StateMachineQualifier': [call.qualifier] } }];
    // SendTaskSuccess is authorised on the state machine of the token's execution (what AWS names in its denial).
    return [{ action, resource: stateMachine, context: {} }];
  }
  if (call.service === 'sqs') {
    // Lambda's on-failure destination of the function's async invocations (AWS::Lambda::EventInvokeConfig).
    const queue = at.onFailure(call.functionName);
    if (queue === undefined) return [{ action: 'sqs:SendMessage', resource: NO_DESTINATION, context: {} }];
    // A queue under a customer managed key: SQS makes the sender's data key with the sender's permissions
    // (kms:GenerateDataKey and kms:Decrypt, the queue's ARN as encryption context).
    const key = at.queueKey(queue);
    const context = { 'aws:sqs:arn': queue };
    const keyUses = key === undefined ? [] : [keyUse('kms:GenerateDataKey', key, 'sqs', at.deployed, context), keyUse('kms:Decrypt', key, 'sqs', at.deployed, context)];
    return [{ action: 'sqs:SendMessage', resource: queue, context: {} }, ...keyUses];
  }
  if (call.service === 'events') {
    const entries = (call.input.Entries as Array<{ EventBusName?: string }> | undefined) ?? [];
    // The engine's bus stands for the template's; an entry naming another bus is authorised on that one.
    const buses = new Set(entries.map((e) => e.EventBusName ?? at.bus()));
    return [...buses].map((bus) => ({
      action: `events:${call.operation}`,
      resource: bus.startsWith('arn:') ? bus : `arn:aws:events:${at.deployed.region}:${at.deployed.account}:event-bus/${bus}`,
      context: {},
    }));
  }
  if (call.service === 'ses') return sesRequests(call.operation, asDeployedSender(call.input, at.environment(call.functionName)), at.deployed);
  if (call.service === 'sms-voice') {
    // Authorised on the origination identity; the engine's request names none: the template's is the one sent from.
    const identity = typeof call.input.OriginationIdentity === 'string' ? call.input.OriginationIdentity : at.environment(call.functionName)[JOURNEY_ENV.SMS_ORIGINATION_IDENTITY];
    if (identity === undefined) throw new Error(`the twin: ${call.functionName} sends an SMS, but its template environment names no ${JOURNEY_ENV.SMS_ORIGINATION_IDENTITY}`);
    return [{ action: `sms-voice:${call.operation}`, resource: identity, context: {} }];
  }
  if (call.service === 'social-messaging') {
    // Authorised on the origination phone number (resource type phone-number-id, its ARN naming the id without the
    // `phone-number-id-` prefix); the engine's request names none: the template's is the one sent from.
    const id = typeof call.input.originationPhoneNumberId === 'string' ? call.input.originationPhoneNumberId : at.environment(call.functionName)[JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID];
    if (id === undefined) throw new Error(`the twin: ${call.functionName} sends a WhatsApp message, but its template environment names no ${JOURNEY_ENV.WHATSAPP_PHONE_NUMBER_ID}`);
    const resource = id.startsWith('arn:') ? id : `arn:aws:social-messaging:${at.deployed.region}:${at.deployed.account}:phone-number-id/${id.replace(/^phone-number-id-/, '')}`;
    return [{ action: `social-messaging:${call.operation}`, resource, context: {} }];
  }
  if (call.service === 'sns') {
    // Publish is authorised on what it publishes to: a push's target, the customer's platform endpoint.
    const target = call.input.TargetArn ?? call.input.TopicArn;
    if (typeof target !== 'string') throw new Error(`the twin: ${call.functionName} publishes to SNS without a TargetArn or TopicArn`);
    return [{ action: `sns:${call.operation}`, resource: target, context: {} }];
  }
  if (call.service === 'secretsmanager') {
    // Authorised on the secret's full ARN (with its random suffix), whichever of its ids the call names (an engine's stand-in: the ARN it stands for).
    const secret = at.secretOf(String(call.input.SecretId));
    const secretId = String(call.input.SecretId).startsWith(ENGINE_SECRET.prefix) ? secret.arn : String(call.input.SecretId);
    const requests: IamRequest[] = [{ action: `secretsmanager:${call.operation}`, resource: secret.arn, context: { 'secretsmanager:SecretId': [secretId] } }];
    // A secret under a customer managed key: Secrets Manager decrypts it with the caller's permissions (kms:Decrypt via the service).
    if (secret.kmsKey !== undefined && call.operation === 'GetSecretValue') requests.push(keyUse('kms:Decrypt', secret.kmsKey, 'secretsmanager', at.deployed, { SecretARN: secret.arn }));
    return requests;
  }
  const action = `dynamodb:${call.operation}`;
  const input = call.input;
  if (typeof input.TableName === 'string') {
    const table = at.tableOf(input.TableName);
    const index = typeof input.IndexName === 'string' ? input.IndexName : undefined;
    const hashKey = index ? table.indexHashKeys[index] : table.hashKey;
    const keys = hashKey === undefined ? [] : leadingKeys(input, hashKey);
    return [{ action, resource: index ? `${table.arn}/index/${index}` : table.arn, context: keys.length > 0 ? { 'dynamodb:LeadingKeys': keys } : {} }, ...tableKeyUse(table, at.deployed)];
  }
  // BatchWriteItem / BatchGetItem: each table of the request is authorised, with its items' leading keys.
  const requestItems = (input.RequestItems ?? {}) as Record<string, unknown>;
  return Object.entries(requestItems).flatMap(([name, items]): IamRequest[] => {
    const table = at.tableOf(name);
    const keys = new Set<string>();
    const list = Array.isArray(items) ? items : ((items as { Keys?: unknown[] }).Keys ?? []).map((Key) => ({ Key }));
    for (const item of list as Array<{ PutRequest?: { Item: unknown }; DeleteRequest?: { Key: unknown }; Key?: unknown }>) {
      const key = (item.PutRequest?.Item ?? item.DeleteRequest?.Key ?? item.Key) as Record<string, { S?: string }> | undefined;
      const value = key?.[table.hashKey]?.S;
      if (value !== undefined) keys.add(value);
    }
    return [{ action, resource: table.arn, context: keys.size > 0 ? { 'dynamodb:LeadingKeys': [...keys] } : {} }, ...tableKeyUse(table, at.deployed)];
  });
}

/**
 * The request as the deployed function sends it: the engine's simulated sender and configuration set (SIMULATED_SES)
 * stand for those the template gives the function (a bundle's request names those already).
 */
function asDeployedSender(input: Record<string, unknown>, environment: Record<string, string>): Record<string, unknown> {
  const { FromEmailAddress, ConfigurationSetName, ...rest } = input;
  const from = FromEmailAddress === SIMULATED_SES.from ? environment[JOURNEY_ENV.EMAIL_FROM_ADDRESS] : FromEmailAddress;
  const configurationSet = ConfigurationSetName === SIMULATED_SES.configurationSet ? environment[JOURNEY_ENV.EMAIL_CONFIGURATION_SET] : ConfigurationSetName;
  return { ...rest, ...(from !== undefined && { FromEmailAddress: from }), ...(configurationSet !== undefined && { ConfigurationSetName: configurationSet }) };
}

/**
 * The ARN of the secret an engine's stand-in (`ENGINE_SECRET`) is for the calling function: the one the variable
 * of its environment that names it names (the unsubscribe secret, a source's, an outbound webhook's). Any other
 * `SecretId` (a bundle's) is the deployment's own.
 */
function engineSecretArn(secretId: unknown, functionName: string, environment: Record<string, string>): string {
  const id = String(secretId);
  if (!id.startsWith(ENGINE_SECRET.prefix)) return id;
  const json = <T>(name: string): T | undefined => (environment[name] === undefined ? undefined : (JSON.parse(environment[name]) as T));
  const [kind, ...rest] = id.slice(ENGINE_SECRET.prefix.length).split('/');
  const name = rest.join('/');
  const arn =
    id === ENGINE_SECRET.unsubscribe
      ? environment[ENV.UNSUBSCRIBE_SECRET]
      : kind === 'source'
        ? json<Array<{ id: string; secretArn: string }>>(ENV.SOURCES)?.find((source) => source.id === name)?.secretArn
        : kind === 'webhook'
          ? json<Record<string, { secretArn: string }>>(JOURNEY_ENV.OUTBOUND_WEBHOOK_TARGETS)?.[name]?.secretArn
          : undefined;
  if (arn === undefined) throw new Error(`the twin: ${functionName} reads the engine's secret ${id}, which its environment in the template names no secret for: deploy what the engine runs (tests/twin/template.ts)`);
  return arn;
}

/**
 * SES v2 SendEmail as SES authorises it: `ses:SendEmail` on the sending identity and, when the request names one,
 * on the configuration set (each must be allowed), with `ses:FromAddress` (the address alone, without a display
 * name), `ses:FromDisplayName`, `ses:Recipients` and `ses:ApiVersion` (`2`). The sending identity is the From
 * address's if it is verified, else its domain's; the twin's deployment verifies the domain (as production
 * senders do, for DKIM), so the identity is `identity/<domain>`.
 */
function sesRequests(operation: string, input: Record<string, unknown>, deployed: Deployed): IamRequest[] {
  if (operation !== 'SendEmail') return [];
  const from = String(input.FromEmailAddress ?? '');
  const angle = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(from);
  const address = (angle ? angle[2]! : from).trim();
  const displayName = angle?.[1]?.trim();
  const destination = (input.Destination ?? {}) as { ToAddresses?: string[]; CcAddresses?: string[]; BccAddresses?: string[] };
  const recipients = [...(destination.ToAddresses ?? []), ...(destination.CcAddresses ?? []), ...(destination.BccAddresses ?? [])];
  const context: Record<string, string[]> = {
    'ses:FromAddress': [address],
    'ses:ApiVersion': ['2'],
    ...(recipients.length > 0 && { 'ses:Recipients': recipients }),
    ...(displayName && { 'ses:FromDisplayName': [displayName] }),
  };
  const arn = (resource: string) => `arn:aws:ses:${deployed.region}:${deployed.account}:${resource}`;
  const identity = address.slice(address.lastIndexOf('@') + 1);
  const configurationSet = typeof input.ConfigurationSetName === 'string' ? input.ConfigurationSetName : undefined;
  return [
    { action: 'ses:SendEmail', resource: arn(`identity/${identity}`), context },
    ...(configurationSet !== undefined ? [{ action: 'ses:SendEmail', resource: arn(`configuration-set/${configurationSet}`), context }] : []),
  ];
}

interface DeployedSecret {
  arn: string;
  /** The ARN of its customer managed key, if it has one. */
  kmsKey: string | undefined;
}

/** The template's secrets by ARN (as `Ref` resolves: with the suffix Secrets Manager adds to the name). */
function deployedSecrets(deployed: Deployed): Map<string, DeployedSecret> {
  const secrets = new Map<string, DeployedSecret>();
  for (const id of deployed.ofType('AWS::SecretsManager::Secret')) {
    const key = deployed.resource(id).Properties?.KmsKeyId;
    secrets.set(deployed.ref(id), { arn: deployed.ref(id), kmsKey: key === undefined ? undefined : keyArn(deployed, key) });
  }
  return secrets;
}

/**
 * The secret a `SecretId` names: its full ARN, its ARN without the suffix, or its name, as Secrets Manager finds
 * it. A full ARN of a secret outside the template (an existing secret the stack was given) is that secret,
 * without a key the twin knows of.
 */
function secretOf(secrets: Map<string, DeployedSecret>, secretId: string, deployed: Deployed): DeployedSecret {
  const exact = secrets.get(secretId);
  if (exact) return exact;
  const bySuffixless = [...secrets.values()].find((s) => s.arn.replace(/-[A-Za-z0-9]{6}$/, '') === secretId || s.arn.split(':secret:')[1]!.replace(/-[A-Za-z0-9]{6}$/, '') === secretId);
  if (bySuffixless) return bySuffixless;
  if (/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+-[A-Za-z0-9]{6}$/.test(secretId)) return { arn: secretId, kmsKey: undefined };
  throw new Error(`the twin: ${secretId} names no secret of the template (${[...secrets.keys()].join(', ')}) in ${deployed.stackName}`);
}

/** The partition key values a single-table request touches (`dynamodb:LeadingKeys`). */
function leadingKeys(input: Record<string, unknown>, hashKey: string): string[] {
  const item = (input.Key ?? input.Item) as Record<string, { S?: string }> | undefined;
  if (item) return item[hashKey]?.S === undefined ? [] : [item[hashKey].S];
  const condition = typeof input.KeyConditionExpression === 'string' ? input.KeyConditionExpression : undefined;
  if (!condition) return [];
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Record<string, { S?: string }>;
  for (const match of condition.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    const name = match[1]!.startsWith('#') ? names[match[1]!] : match[1];
    if (name === hashKey && values[match[2]!]?.S !== undefined) return [values[match[2]!]!.S!];
  }
  return [];
}

async function decide(f: DeployedFunction, action: string, resource: string, contextVariables: Record<string, string[]>, accountId: string, keyPolicy?: PolicyDocument): Promise<AccessDenial | undefined> {
  const simulation: Simulation = {
    request: { principal: f.principal, action, resource: { resource, accountId }, contextVariables },
    identityPolicies: f.policies,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(keyPolicy && { resourcePolicy: keyPolicy }),
  };
  let result: string;
  if (action === 'states:SendTaskSuccess' || (action === 'sns:Publish' && /:endpoint\//.test(resource))) {
    // The service authorization reference lists no resource type for SendTaskSuccess (so the simulator
    // insists on "*"), but Step Functions authorises it on the token's state machine: a grant scoped to
    // the state machine works in AWS (aws/aws-cdk#8486) and AWS's denial names it. Likewise it lists only the
    // topic for sns:Publish, but SNS authorises a publish to a platform endpoint (mobile push) on the endpoint's
    // ARN. Evaluate them as AWS does.
    result = runUnsafeSimulation(simulation, {});
  } else {
    const run = await runSimulation(simulation, {});
    if (run.resultType === 'error') throw new Error(`the twin could not simulate ${action} on ${resource}: ${JSON.stringify(run.errors)}`);
    result = run.overallResult;
  }
  if (result === 'Allowed') return undefined;
  // KMS says the same of a key whose policy trusts the account's IAM policies (the template's key does).
  const why = result === 'ExplicitlyDenied' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${action} action`;
  return { message: `User: ${f.principal} is not authorized to perform: ${action} on resource: ${resource} ${why}` };
}

/** The template's functions by Powertools service name (the engine's function names). */
function deployedFunctions(deployed: Deployed): Map<string, DeployedFunction> {
  const functions = new Map<string, DeployedFunction>();
  for (const id of deployed.ofType('AWS::Lambda::Function')) {
    const props = deployed.resource(id).Properties ?? {};
    const environment = deployed.resolve((props.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) as Record<string, string>;
    const service = environment.POWERTOOLS_SERVICE_NAME;
    if (service === undefined) continue;
    const roleRef = props.Role as { 'Fn::GetAtt'?: [string, string] };
    const roleId = roleRef['Fn::GetAtt']?.[0];
    if (!roleId) throw new Error(`the twin: the role of ${id} is not a role of the template`);
    const policies = rolePolicies(deployed, roleId);
    const conditionKeys = conditionKeysOf(policies);
    const principal = `arn:aws:sts::${deployed.account}:assumed-role/${deployed.physicalName(roleId)}/${deployed.physicalName(id)}`;
    const invokeConfig = deployed
      .ofType('AWS::Lambda::EventInvokeConfig')
      .map((c) => deployed.resource(c).Properties ?? {})
      .find((c) => (c.FunctionName as { Ref?: string } | undefined)?.Ref === id);
    const destination = (invokeConfig?.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)?.OnFailure?.Destination;
    const onFailure = destination === undefined ? undefined : String(deployed.resolve(destination));
    functions.set(service, { arn: deployed.getAtt(id, 'Arn'), principal, policies, conditionKeys, environment, onFailure });
  }
  return functions;
}

/** The condition keys policies test (`kms:EncryptionContext:<key>` with its key), lower case. */
function conditionKeysOf(policies: unknown): Set<string> {
  return new Set([...JSON.stringify(policies).matchAll(/"([a-z0-9-]+:[A-Za-z0-9:_.-]+)":\s*\[?"/g)].map((m) => m[1]!.toLowerCase()));
}

/** The ARN of the key a template names (by ARN or by id). */
function keyArn(deployed: Deployed, key: unknown): string {
  const resolved = String(deployed.resolve(key));
  return resolved.startsWith('arn:') ? resolved : `arn:aws:kms:${deployed.region}:${deployed.account}:key/${resolved}`;
}

/** The customer managed key of each of the template's queues that has one, by queue ARN. */
function deployedQueueKeys(deployed: Deployed): Map<string, string> {
  return new Map(
    deployed
      .ofType('AWS::SQS::Queue')
      .filter((id) => deployed.resource(id).Properties?.KmsMasterKeyId !== undefined)
      .map((id) => [deployed.getAtt(id, 'Arn'), keyArn(deployed, deployed.resource(id).Properties?.KmsMasterKeyId)]),
  );
}

/** The template's customer managed keys by ARN, with their key policies. */
function deployedKeys(deployed: Deployed): Map<string, PolicyDocument> {
  return new Map(deployed.ofType('AWS::KMS::Key').map((id) => [deployed.getAtt(id, 'Arn'), deployed.resolve(deployed.resource(id).Properties?.KeyPolicy) as PolicyDocument]));
}

/** A role's inline policies, the AWS::IAM::Policy resources attached to it and its customer-managed policies. */
function rolePolicies(deployed: Deployed, roleId: string): Array<{ name: string; policy: PolicyDocument }> {
  const role = deployed.resource(roleId).Properties ?? {};
  const policies: Array<{ name: string; policy: PolicyDocument }> = [];
  for (const inline of (role.Policies as Array<{ PolicyName: string; PolicyDocument: unknown }> | undefined) ?? []) {
    policies.push({ name: inline.PolicyName, policy: deployed.resolve(inline.PolicyDocument) as PolicyDocument });
  }
  const attachedTo = (refs: unknown) => Array.isArray(refs) && refs.some((r) => (r as { Ref?: string }).Ref === roleId);
  for (const id of [...deployed.ofType('AWS::IAM::Policy'), ...deployed.ofType('AWS::IAM::ManagedPolicy')]) {
    const props = deployed.resource(id).Properties ?? {};
    if (attachedTo(props.Roles)) policies.push({ name: id, policy: deployed.resolve(props.PolicyDocument) as PolicyDocument });
  }
  for (const arn of (role.ManagedPolicyArns as unknown[] | undefined) ?? []) {
    const ref = (arn as { Ref?: string }).Ref;
    if (ref && deployed.template.Resources[ref]?.Type === 'AWS::IAM::ManagedPolicy') {
      if (!attachedTo(deployed.resource(ref).Properties?.Roles)) policies.push({ name: ref, policy: deployed.resolve(deployed.resource(ref).Properties?.PolicyDocument) as PolicyDocument });
      continue;
    }
    // An AWS managed policy: the twin does not hold their documents; say which one to add.
    throw new Error(`the twin: role ${roleId} has the managed policy ${JSON.stringify(deployed.resolve(arn))}, whose document it does not know`);
  }
  return policies;
}

/** The template's tables by physical name. */
function deployedTables(deployed: Deployed): Map<string, DeployedTable> {
  const tables = new Map<string, DeployedTable>();
  for (const id of [...deployed.ofType('AWS::DynamoDB::Table'), ...deployed.ofType('AWS::DynamoDB::GlobalTable')]) {
    const props = deployed.resource(id).Properties ?? {};
    const hashOf = (schema: unknown) => (schema as Array<{ AttributeName: string; KeyType: string }>).find((k) => k.KeyType === 'HASH')!.AttributeName;
    const indexes = [...((props.GlobalSecondaryIndexes as unknown[] | undefined) ?? []), ...((props.LocalSecondaryIndexes as unknown[] | undefined) ?? [])] as Array<{ IndexName: string; KeySchema: unknown }>;
    // A table's key (SSESpecification), or a global table's replica's in the stack's region.
    type Sse = { SSESpecification?: { KMSMasterKeyId?: unknown } };
    const replica = ((props.Replicas as Array<Sse & { Region?: unknown }> | undefined) ?? []).find((r) => r.Region === undefined || deployed.resolve(r.Region) === deployed.region);
    const key = (props as Sse).SSESpecification?.KMSMasterKeyId ?? replica?.SSESpecification?.KMSMasterKeyId;
    tables.set(deployed.ref(id), {
      arn: deployed.getAtt(id, 'Arn'),
      name: deployed.ref(id),
      hashKey: hashOf(props.KeySchema),
      indexHashKeys: Object.fromEntries(indexes.map((i) => [i.IndexName, hashOf(i.KeySchema)])),
      kmsKey: key === undefined ? undefined : keyArn(deployed, key),
    });
  }
  return tables;
}

// ---- Invocations of the functions by AWS services ----

/** `rule:<name>`, `stateMachine:<id>`, `schedule:<id>` or `route:<api> <METHOD> <path>`. */
function invokerName(invoker: FunctionInvoker): string {
  if ('rule' in invoker) return `rule:${invoker.rule}`;
  if ('stateMachine' in invoker) return `stateMachine:${invoker.stateMachine}`;
  if ('schedule' in invoker) return `schedule:${invoker.schedule}`;
  return `route:${invoker.route.api} ${invoker.route.method} ${invoker.route.path}`;
}

/** The stack's construct id (under its scope) of the rule an engine's bus rule stands for. */
function ruleConstructId(engineRule: string): string {
  if (engineRule === PROFILE_CONSUMER_RULE.engineName) return PROFILE_CONSUMER_RULE.id;
  if (engineRule === sesFeedbackRule('').engineName) return sesFeedbackRule('').id;
  if (engineRule === RUN_ENDED.id) return RUN_ENDED.id;
  // A journey's trigger rule: `journey-<id>-<index>` in the engine, `Journey-<id>/TriggerRule<index>` in the stack.
  const trigger = /^journey-(.+)-(\d+)$/.exec(engineRule);
  if (trigger) return `Journey-${trigger[1]}/TriggerRule${trigger[2]}`;
  throw new Error(`the twin cannot tell which template rule the engine's rule ${engineRule} stands for: teach tests/twin/iam.ts`);
}

/**
 * The resource of `type` whose construct path ends with `path`: CDK's logical id is the path's alphanumerics and a
 * hash of 8 hex digits. Exactly one, or the twin says the template does not deploy it.
 */
function resourceByPath(deployed: Deployed, type: string, path: string): string {
  const stem = path.replace(/[^A-Za-z0-9]/g, '');
  const found = deployed.ofType(type).filter((id) => id.length === id.lastIndexOf(stem) + stem.length + 8 && /[0-9A-F]{8}$/.test(id) && id.includes(stem));
  if (found.length !== 1) throw new Error(`the twin: the template has ${found.length === 0 ? 'no' : 'more than one'} ${type} at ${path} (${found.join(', ')})`);
  return found[0]!;
}

/** An intrinsic naming a template role by `Fn::GetAtt [role, Arn]`: the role's logical id. */
function roleIdOf(value: unknown, what: string): string {
  const id = (value as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
  if (id === undefined) throw new Error(`the twin: the role of ${what} is not a role of the template`);
  return id;
}

/** The function's resource-based policy: its `AWS::Lambda::Permission`s, as Lambda writes them into the policy. */
function functionPolicy(deployed: Deployed, functionArn: string): PolicyDocument {
  const name = functionArn.split(':').at(-1);
  const Statement = deployed.ofType('AWS::Lambda::Permission').flatMap((id) => {
    const props = deployed.resolve(deployed.resource(id).Properties ?? {}) as Record<string, string | undefined>;
    if (props.FunctionName !== functionArn && props.FunctionName !== name) return [];
    const principal = String(props.Principal);
    const condition: Record<string, Record<string, string>> = {};
    if (props.SourceArn !== undefined) condition.ArnLike = { 'AWS:SourceArn': props.SourceArn };
    if (props.SourceAccount !== undefined) condition.StringEquals = { 'AWS:SourceAccount': props.SourceAccount };
    return [
      {
        Sid: id,
        Effect: 'Allow',
        Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
        Action: props.Action,
        Resource: functionArn,
        ...(Object.keys(condition).length > 0 && { Condition: condition }),
      },
    ];
  });
  return { Statement };
}

/**
 * Whether AWS lets `call.invoker` invoke the function, by the template: EventBridge (a rule) and API Gateway (a
 * route) through the function's resource-based policy, with the rule's or route's ARN as `aws:SourceArn`; Step
 * Functions (a state machine) and EventBridge Scheduler (a schedule) by assuming the resource's role (its trust
 * policy) and then by that role's policies. The invoker itself must be in the template and point at the function
 * (else the twin throws: the engine runs a wiring the stack does not deploy).
 */
async function authorizeInvocation(
  call: FunctionInvocation,
  at: { deployed: Deployed; functionArn: (functionName: string) => string; setting: (name: string) => string },
): Promise<AccessDenial | undefined> {
  const { deployed } = at;
  const target = at.functionArn(call.functionName);
  const context = (sourceArn: string) => ({ 'aws:SourceArn': [sourceArn], 'aws:SourceAccount': [deployed.account] });
  const invoker = call.invoker;
  const byResourcePolicy = async (service: string, sourceArn: string) => {
    const result = await simulate({ principal: service, action: 'lambda:InvokeFunction', resource: target, context: context(sourceArn), resourcePolicy: functionPolicy(deployed, target) }, deployed.account);
    if (result === 'Allowed') return undefined;
    return { message: `${service} is not authorized to perform: lambda:InvokeFunction on resource: ${target}: no statement of its resource-based policy allows it for ${sourceArn}` };
  };
  const byRole = async (service: string, sourceArn: string, roleValue: unknown, what: string) => {
    const roleId = roleIdOf(roleValue, what);
    const roleArn = deployed.getAtt(roleId, 'Arn');
    const trust = deployed.resolve(deployed.resource(roleId).Properties?.AssumeRolePolicyDocument) as PolicyDocument;
    const trusted = await simulate({ principal: service, action: 'sts:AssumeRole', resource: roleArn, context: context(sourceArn), resourcePolicy: trust }, deployed.account);
    if (trusted !== 'Allowed') return { message: `${service} is not authorized to perform: sts:AssumeRole on resource: ${roleArn} (the role does not trust it)` };
    const principal = `arn:aws:sts::${deployed.account}:assumed-role/${deployed.physicalName(roleId)}/twin-${service.split('.')[0]}`;
    const allowed = await simulate({ principal, action: 'lambda:InvokeFunction', resource: target, context: {}, identityPolicies: rolePolicies(deployed, roleId) }, deployed.account);
    if (allowed === 'Allowed') return undefined;
    const why = allowed === 'ExplicitlyDenied' ? 'with an explicit deny in an identity-based policy' : 'because no identity-based policy allows the lambda:InvokeFunction action';
    return { message: `User: ${principal} is not authorized to perform: lambda:InvokeFunction on resource: ${target} ${why}` };
  };

  if ('rule' in invoker) {
    const ruleId = resourceByPath(deployed, 'AWS::Events::Rule', ruleConstructId(invoker.rule));
    const targets = (deployed.resolve(deployed.resource(ruleId).Properties?.Targets ?? []) as Array<{ Arn: string }>).map((t) => t.Arn);
    if (!targets.includes(target)) throw new Error(`the twin: the engine's rule ${invoker.rule} invokes ${call.functionName}, but the template's ${ruleId} targets ${targets.join(', ') || 'nothing'}`);
    return byResourcePolicy('events.amazonaws.com', deployed.getAtt(ruleId, 'Arn'));
  }
  if ('route' in invoker) {
    const { method, path } = invoker.route;
    // The route of that key whose integration invokes the function: its API's id makes the source ARN.
    const routeId = deployed.ofType('AWS::ApiGatewayV2::Route').find((id) => {
      const props = deployed.resource(id).Properties ?? {};
      if (props.RouteKey !== `${method} ${path}`) return false;
      const integration = /^integrations\/(.+)$/.exec(String(deployed.resolve(props.Target)))?.[1];
      const integrationId = deployed.ofType('AWS::ApiGatewayV2::Integration').find((i) => deployed.ref(i) === integration);
      return integrationId !== undefined && deployed.resolve(deployed.resource(integrationId).Properties?.IntegrationUri) === target;
    });
    if (routeId === undefined) throw new Error(`the twin: the template has no route ${method} ${path} to ${call.functionName}`);
    const apiId = String(deployed.resolve(deployed.resource(routeId).Properties?.ApiId));
    return byResourcePolicy('apigateway.amazonaws.com', `arn:aws:execute-api:${deployed.region}:${deployed.account}:${apiId}/$default/${method}${path}`);
  }
  if ('stateMachine' in invoker) {
    const machineArn = invoker.stateMachine === 'broadcasts' ? at.setting(BROADCAST_ENV.STATE_MACHINE_ARN) : `${at.setting(JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX)}${invoker.stateMachine}`;
    const machines = deployed.ofType('AWS::StepFunctions::StateMachine');
    const machineId = machines.find((id) => deployed.getAtt(id, 'Arn') === machineArn);
    if (machineId === undefined) {
      // A journey of the scenario's own, which the template's stack was not synthesized with: deployed, it would
      // be one more machine with the role every journey shares (the stack gives them one).
      if (invoker.stateMachine === 'broadcasts') throw new Error(`the twin: the template deploys no state machine ${machineArn}`);
      const prefix = at.setting(JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX);
      const roles = new Set(machines.filter((id) => deployed.getAtt(id, 'Arn').startsWith(prefix)).map((id) => JSON.stringify(deployed.resource(id).Properties?.RoleArn)));
      if (roles.size !== 1) throw new Error(`the twin: the template's journeys have ${roles.size} roles, so which one a journey it does not deploy (${invoker.stateMachine}) would have is unknown`);
      return byRole('states.amazonaws.com', machineArn, JSON.parse([...roles][0]!), `the journeys' state machines`);
    }
    const props = deployed.resource(machineId).Properties ?? {};
    const definition = String(deployed.resolve(props.DefinitionString));
    if (!definition.includes(JSON.stringify(target))) throw new Error(`the twin: the template's state machine ${machineArn} invokes no ${call.functionName} (${target})`);
    return byRole('states.amazonaws.com', machineArn, props.RoleArn, machineId);
  }
  const spec = SCHEDULES.find((s) => s.id === invoker.schedule);
  if (!spec) throw new Error(`the twin: the engine runs a schedule ${invoker.schedule} the topology does not have`);
  const scheduleId = resourceByPath(deployed, 'AWS::Scheduler::Schedule', spec.id);
  const scheduleTarget = deployed.resource(scheduleId).Properties?.Target as { Arn: unknown; RoleArn: unknown };
  if (deployed.resolve(scheduleTarget.Arn) !== target) throw new Error(`the twin: the template's schedule ${scheduleId} invokes ${String(deployed.resolve(scheduleTarget.Arn))}, not ${call.functionName}`);
  // Scheduler assumes the role with its schedule group's ARN as aws:SourceArn (what the role's trust policy is scoped by).
  const group = deployed.resource(scheduleId).Properties?.GroupName;
  const groupArn = `arn:aws:scheduler:${deployed.region}:${deployed.account}:schedule-group/${group === undefined ? 'default' : String(deployed.resolve(group))}`;
  return byRole('scheduler.amazonaws.com', groupArn, scheduleTarget.RoleArn, scheduleId);
}

/** One request through the simulator: its overall result (`Allowed`, `ImplicitlyDenied`, `ExplicitlyDenied`). */
async function simulate(
  request: { principal: string; action: string; resource: string; context: Record<string, string[]>; identityPolicies?: Array<{ name: string; policy: PolicyDocument }>; resourcePolicy?: PolicyDocument },
  accountId: string,
): Promise<string> {
  const run = await runSimulation(
    {
      request: { principal: request.principal, action: request.action, resource: { resource: request.resource, accountId }, contextVariables: request.context },
      identityPolicies: request.identityPolicies ?? [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(request.resourcePolicy && { resourcePolicy: request.resourcePolicy }),
    },
    {},
  );
  if (run.resultType === 'error') throw new Error(`the twin could not simulate ${request.action} on ${request.resource} by ${request.principal}: ${JSON.stringify(run.errors)}`);
  return run.overallResult;
}
