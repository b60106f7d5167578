/**
 * The twin's IAM (issue 13): the embedded engine authorises every AWS call a function makes by
 * that function's role in the synthesized template. These tests show it answers as AWS does, and
 * that a grant missing from the template fails the scenario that needs it, as issue 13's items 2
 * (the step role could not DeleteItem) and 3 (the starter could not StopExecution) did in AWS.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ChannelUnavailableError } from '../../functions/journeys/channels/types';
import { DEV_UNSUBSCRIBE_KEY, preferencesUrl } from '../../functions/journeys/unsubscribe';
import type { Engine, EngineOptions } from '../../infra/embedded/engine';
import { VirtualClock } from '../../infra/embedded/virtual-time';
import { JOURNEY_ALIAS, JOURNEY_ENV } from '../../shared/config/journey-env';
import { client } from '../helpers/client';
import { profileItems, startTestEngine, TEST_WRITE_KEY } from '../helpers/engine';
import { messagesOf, outboxFor, runsOf, runToEnd } from '../helpers/journeys';
import { templateIam, type TwinIam } from './iam';
import { Deployed, TWIN_ACCOUNT, TWIN_REGION, withoutGrant, type CfnTemplate } from './template';

const template = (): CfnTemplate => inject('twinTemplate');
const START = '2026-03-02T10:00:00Z';
const identify = (userId: string) => ({ type: 'identify', userId, traits: { email: `${userId}@example.com`, name: userId } });
const track = (userId: string, event: string, properties: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties, ...extra });

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

/** An engine on virtual time whose functions have the roles of `deployed`. */
async function engineWith(iam: TwinIam, options: Partial<EngineOptions> = {}) {
  const clock = new VirtualClock(START);
  const engine = await startTestEngine({ clock, sendPolicy: { quietHours: undefined }, sweepEveryMs: 0, logLevel: 'SILENT', ...options, authorize: iam.authorize });
  engines.push(engine);
  return { engine, clock, api: client(engine) };
}

describe('the twin authorises by the template', () => {
  it('answers a call the role does not allow as AWS does, naming the role, the action and the resource', async () => {
    const iam = templateIam(new Deployed(template()));
    const denial = await iam.authorize({ functionName: 'rapport-run-ended', service: 'dynamodb', operation: 'PutItem', input: { TableName: 'rapport-profiles', Item: { PK: { S: 'C#x' }, SK: { S: 'PROFILE' } } } });
    expect(denial?.message).toMatch(
      new RegExp(
        `^User: arn:aws:sts::${TWIN_ACCOUNT}:assumed-role/Rapport-twin-RapportJourneyRunEnded\\w*/Rapport-twin-RapportJourneyRunEnded\\w* is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:${TWIN_REGION}:${TWIN_ACCOUNT}:table/Rapport-twin-RapportProfileTable\\w* because no identity-based policy allows the dynamodb:PutItem action$`,
      ),
    );
  });

  it("issue 15: a run starts through its journey's alias, which the template deploys, authorised on the machine's own ARN", async () => {
    const deployed = new Deployed(template());
    const iam = templateIam(deployed);
    // The starter's and the consumer's start: through `live`, the qualifier in the context.
    for (const functionName of ['rapport-starter', 'rapport-profile']) {
      expect(await iam.authorize({ functionName, service: 'states', operation: 'StartExecution', journeyId: 'welcome', executionName: 'welcome-x', qualifier: JOURNEY_ALIAS })).toBeUndefined();
    }
    expect(iam.decisions).toContainEqual({ functionName: 'rapport-starter', action: 'states:StartExecution', resource: expect.stringMatching(/:stateMachine:Rapport-twin_welcome$/), allowed: true });
    // The ARN the runtime starts (the starter's prefix, the journey, the alias) is an alias the template deploys.
    const starter = Object.values(template().Resources).find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Description).includes('enrols customers'));
    const prefix = String(deployed.resolve((starter?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables[JOURNEY_ENV.STATE_MACHINE_ARN_PREFIX]));
    const aliases = deployed.aliasArns();
    for (const journeyId of ['welcome', 'win-back', 'complaint-follow-up']) expect(aliases).toContain(`${prefix}${journeyId}:${JOURNEY_ALIAS}`);
    expect(aliases).not.toContain(`${prefix}welcome:prod`);
  });

  it('authorises SES v2 SendEmail on the identity and the configuration set, by ses:FromAddress', async () => {
    const iam = templateIam(new Deployed(template()));
    const send = (functionName: string, FromEmailAddress: string) =>
      iam.authorize({ functionName, service: 'ses', operation: 'SendEmail', input: { FromEmailAddress, Destination: { ToAddresses: ['a@example.com'] }, ConfigurationSetName: 'rapport-twin' } });
    expect(await send('rapport-steps', 'journeys@shop.example')).toBeUndefined();
    // A display name is no part of ses:FromAddress.
    expect(await send('rapport-steps', '"Shop" <journeys@shop.example>')).toBeUndefined();
    expect((await send('rapport-steps', 'ceo@shop.example'))?.message).toMatch(/is not authorized to perform: ses:SendEmail on resource: arn:aws:ses:[\w-]+:\d+:identity\/shop\.example because/);
    expect((await send('rapport-ingest', 'journeys@shop.example'))?.message).toMatch(/not authorized to perform: ses:SendEmail/);
    expect(iam.decisions.filter((d) => d.action === 'ses:SendEmail' && d.allowed).map((d) => d.resource.split(':').at(-1)).sort()).toEqual(['configuration-set/rapport-twin', 'identity/shop.example']);
  });

  it('authorises GetSecretValue on the secret ARN, whichever id names it: the step reads the unsubscribe key, not a source secret', async () => {
    const deployed = new Deployed(template());
    const iam = templateIam(deployed);
    const arnOf = (fragment: string) => deployed.ofType('AWS::SecretsManager::Secret').filter((id) => id.includes(fragment)).map((id) => deployed.ref(id))[0]!;
    const read = (functionName: string, SecretId: string) => iam.authorize({ functionName, service: 'secretsmanager', operation: 'GetSecretValue', input: { SecretId } });
    const unsubscribe = arnOf('UnsubscribeSecret');
    const source = arnOf('SourceSecret');
    expect(await read('rapport-steps', unsubscribe)).toBeUndefined();
    // By name (the ARN without its suffix): authorised on the full ARN all the same.
    expect(await read('rapport-steps', unsubscribe.split(':secret:')[1]!.replace(/-\w{6}$/, ''))).toBeUndefined();
    expect((await read('rapport-steps', source))?.message).toContain(`not authorized to perform: secretsmanager:GetSecretValue on resource: ${source} because`);
    expect(await read('rapport-ingest', source)).toBeUndefined();
  });

  it('evaluates dynamodb:LeadingKeys: the ingest function reads a customer item, never another key space', async () => {
    const iam = templateIam(new Deployed(template()));
    const get = (pk: string) => iam.authorize({ functionName: 'rapport-ingest', service: 'dynamodb', operation: 'GetItem', input: { TableName: 'rapport-profiles', Key: { PK: { S: pk }, SK: { S: 'PROFILE' } } } });
    expect(await get('C#alice')).toBeUndefined();
    expect((await get('J#welcome'))?.message).toMatch(/is not authorized to perform: dynamodb:GetItem on resource: .*:table\/Rapport-twin-RapportProfileTable\w+ because/);
  });

  it('authorises a query of an index on the index ARN, and a batch on every key it writes (ForAllValues)', async () => {
    const iam = templateIam(new Deployed(template()));
    const query = (functionName: string) =>
      iam.authorize({ functionName, service: 'dynamodb', operation: 'Query', input: { TableName: 'rapport-profiles', IndexName: 'GSI1', KeyConditionExpression: '#pk = :pk', ExpressionAttributeNames: { '#pk': 'GSI1PK' }, ExpressionAttributeValues: { ':pk': { S: 'DUE#0' } } } });
    expect(await query('rapport-sweep')).toBeUndefined();
    expect((await query('rapport-starter'))?.message).toMatch(/is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:[\w-]+:\d+:table\/Rapport-twin-RapportProfileTable\w+\/index\/GSI1 because/);

    // The ingest role may put C# and TPV# items only: one item outside them refuses the whole batch.
    const iamBatch = templateIam(new Deployed(template()));
    const put = (pk: string) => ({ PutRequest: { Item: { PK: { S: pk }, SK: { S: 'X' } } } });
    const batch = (pks: string[]) => iamBatch.authorize({ functionName: 'rapport-customers', service: 'dynamodb', operation: 'BatchWriteItem', input: { RequestItems: { 'rapport-profiles': pks.map(put) } } });
    expect(await batch(['C#a', 'C#b'])).toBeUndefined();
    const ingestPut = (pk: string) => iamBatch.authorize({ functionName: 'rapport-ingest', service: 'dynamodb', operation: 'PutItem', input: { TableName: 'rapport-profiles', Item: { PK: { S: pk }, SK: { S: 'X' } } } });
    expect(await ingestPut('TPV#2026-03-02')).toBeUndefined();
    // A hold kept for an erased id (XH#<hash>) or an address's (AH#<hash>), but never a tombstone (X#<hash>).
    expect(await ingestPut('XH#0f1e')).toBeUndefined();
    expect(await ingestPut('AH#0f1e')).toBeUndefined();
    expect((await ingestPut('X#0f1e'))?.message).toMatch(/dynamodb:PutItem/);
    expect((await ingestPut('J#welcome'))?.message).toMatch(/dynamodb:PutItem/);
    expect((await iamBatch.authorize({ functionName: 'rapport-ingest', service: 'dynamodb', operation: 'BatchWriteItem', input: { RequestItems: { 'rapport-profiles': [put('C#a')] } } }))?.message).toMatch(
      /is not authorized to perform: dynamodb:BatchWriteItem/,
    );
  });

  it('fails loudly on a call it cannot map, or a function the template does not deploy', async () => {
    const iam = templateIam(new Deployed(template()));
    await expect(iam.authorize({ functionName: 'rapport-nope', service: 'events', operation: 'PutEvents', input: { Entries: [{}] } })).rejects.toThrow(/a function the template does not deploy/);
    await expect(iam.authorize({ functionName: 'rapport-steps', service: 'dynamodb', operation: 'GetItem', input: { TableName: 'some-other-table', Key: {} } })).rejects.toThrow(/stands for no template table/);
    await expect(iam.authorize({ functionName: 'rapport-steps', service: 'dynamodb', operation: 'ListTables', input: {} })).rejects.toThrow(/cannot tell what dynamodb:ListTables/);
  });

  it('a denied DynamoDB call fails in the function with the SDK error AWS gives: AccessDeniedException, not retried', async () => {
    const iam = templateIam(new Deployed(withoutGrant(template(), 'rapport-profile', 'dynamodb:PutItem')));
    let denied = 0;
    const counted: TwinIam = {
      ...iam,
      authorize: async (call) => {
        const denial = await iam.authorize(call);
        if (denial) denied++;
        return denial;
      },
    };
    const { engine, api, clock } = await engineWith(counted);
    await api.send([identify('iam-consumer')]);
    await clock.run();
    const [letter] = engine.deadLetters.filter((l) => l.functionName === 'rapport-profile');
    // Three invocations (Lambda's two async retries), each failing at its first denied call: the SDK does not retry a denial.
    expect(letter?.attempts).toBe(3);
    expect(denied).toBe(3);
    // Lambda sent the event to the function's on-failure destination with the function's role.
    expect(iam.decisions).toContainEqual({ functionName: 'rapport-profile', action: 'sqs:SendMessage', resource: expect.stringMatching(/^arn:aws:sqs:[\w-]+:\d+:Rapport-twin-RapportDeadLetterQueue\w+$/), allowed: true });
    expect(letter?.error).toMatch(/^User: arn:aws:sts::\d+:assumed-role\/[\w-]+\/[\w-]+ is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:/);
  });
});

describe('a grant missing from the template fails the scenario that needs it', () => {
  const flakyChannel = (failures: number): Partial<EngineOptions> => {
    let n = 0;
    return { faults: { channels: () => (++n <= failures ? { error: new ChannelUnavailableError('SES is unavailable: Throttling (injected)') } : undefined) } };
  };

  it('issue 13 item 2: with dynamodb:DeleteItem, a throttled send releases its claim and is retried; without it, the run fails with AccessDeniedException', async () => {
    const granted = await engineWith(templateIam(new Deployed(template())), flakyChannel(2));
    await granted.api.send([identify('iam-send'), track('iam-send', 'Signed Up')]);
    await granted.clock.run(granted.clock.now().getTime() + 3_600_000);
    expect((await messagesOf(granted.engine, 'iam-send')).map((m) => m.status)).toEqual(['sent']);

    const denied = await engineWith(templateIam(new Deployed(withoutGrant(template(), 'rapport-steps', 'dynamodb:DeleteItem'))), flakyChannel(2));
    await denied.api.send([identify('iam-send'), track('iam-send', 'Signed Up')]);
    const run = await runToEnd(denied.clock, denied.engine, 'iam-send', 'welcome');
    expect(run.status).toBe('failed');
    expect(outboxFor(denied.engine, 'iam-send')).toEqual([]);
    const execution = denied.engine.journeys.sfn.executions.get(run.executionName)!;
    expect(execution.states).toEqual(['send-welcome', 'send-welcome.failed', 'Failed']);
    const [message] = await messagesOf(denied.engine, 'iam-send');
    expect(message?.reason).toMatch(/^AccessDeniedException: User: .* is not authorized to perform: dynamodb:DeleteItem on resource: arn:aws:dynamodb:/);
  });

  // The enrolment of a customer event's trigger (and its goal-before-start check) runs in the profile consumer, after it applied the event (item 6).
  it('issue 13 item 3: with states:StopExecution, a goal before the start ends the run; without it, the enrolling consumer fails and its event is dead-lettered', async () => {
    const goalFirst = async (t: Awaited<ReturnType<typeof engineWith>>) => {
      const signedUpAt = t.clock.now().getTime();
      await t.api.send([identify('iam-goal'), track('iam-goal', 'Order Completed', { orderId: 'o-1', revenue: 20, currency: 'EUR' }, { timestamp: new Date(signedUpAt + 60_000).toISOString() })]);
      await t.clock.idle();
      await t.api.send(track('iam-goal', 'Signed Up', {}, { timestamp: new Date(signedUpAt).toISOString() }));
      await t.clock.run();
    };
    const granted = await engineWith(templateIam(new Deployed(template())));
    await goalFirst(granted);
    expect((await runsOf(granted.engine, 'iam-goal')).find((r) => r.journeyId === 'welcome')?.status).toBe('converted');
    expect(granted.engine.deadLetters).toEqual([]);

    const denied = await engineWith(templateIam(new Deployed(withoutGrant(template(), 'rapport-profile', 'states:StopExecution'))));
    await goalFirst(denied);
    const letters = denied.engine.deadLetters.filter((l) => l.functionName === 'rapport-profile');
    expect(letters).toHaveLength(1);
    expect(letters[0]?.error).toMatch(/is not authorized to perform: states:StopExecution on resource: arn:aws:states:[\w-]+:\d+:execution:Rapport-twin_welcome:welcome-\w+ because no identity-based policy allows the states:StopExecution action$/);
  });
  it("without sqs:SendMessage on its on-failure destination, a function's failed event is lost, not dead-lettered", async () => {
    const missing = withoutGrant(withoutGrant(template(), 'rapport-profile', 'dynamodb:PutItem'), 'rapport-profile', 'sqs:SendMessage');
    const { engine, api, clock } = await engineWith(templateIam(new Deployed(missing)));
    await api.send([identify('iam-lost')]);
    await clock.run();
    expect(engine.deadLetters.filter((l) => l.functionName === 'rapport-profile')).toEqual([]);
  });
});

describe('what the engine serves in process is authorised by the template too: SES, Secrets Manager, the broadcast state machine', () => {
  const welcome = async (iam: TwinIam, customerId: string) => {
    const t = await engineWith(iam);
    await t.api.send([identify(customerId), track(customerId, 'Signed Up')]);
    const run = await runToEnd(t.clock, t.engine, customerId, 'welcome');
    return { ...t, run, message: (await messagesOf(t.engine, customerId)).find((m) => m.stepId === 'send-welcome') };
  };

  it("the step's email is SES v2 SendEmail from the template's sender: without ses:SendEmail the run fails, naming the call", async () => {
    const iam = templateIam(new Deployed(template()));
    const granted = await welcome(iam, 'iam-ses');
    expect(granted.message?.status).toBe('sent');
    // Authorised as the deployed function sends it: from the template's address (its domain's identity) with its configuration set.
    const sends = iam.decisions.filter((d) => d.action === 'ses:SendEmail').map((d) => `${d.functionName} ${d.resource.split(':').at(-1)} ${d.allowed}`);
    expect(sends.sort()).toEqual(['rapport-steps configuration-set/rapport-twin true', 'rapport-steps identity/shop.example true']);

    const denied = await welcome(templateIam(new Deployed(withoutGrant(template(), 'rapport-steps', 'ses:SendEmail'))), 'iam-ses');
    expect(denied.run.status).toBe('failed');
    expect(outboxFor(denied.engine, 'iam-ses')).toEqual([]);
    expect(denied.message?.reason).toMatch(/^AccessDeniedException: User: arn:aws:sts::\d+:assumed-role\/[\w-]+\/[\w-]+ is not authorized to perform: ses:SendEmail on resource: arn:aws:ses:[\w-]+:\d+:identity\/shop\.example because/);
  });

  it("the unsubscribe keys are GetSecretValue of the template's unsubscribe secret: without it the marketing email fails, naming the call", async () => {
    const denied = await welcome(templateIam(new Deployed(withoutGrant(template(), 'rapport-steps', 'secretsmanager:GetSecretValue'))), 'iam-secret');
    expect(denied.run.status).toBe('failed');
    expect(outboxFor(denied.engine, 'iam-secret')).toEqual([]);
    expect(denied.message?.reason).toMatch(/is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:[\w-]+:\d+:secret:Rapport-twin-RapportUnsubscribeSecret[\w-]+ because/);
  });

  it('the preference page is the ingest role\'s: it reads the profile and records the topic hold in the customer\'s partition', async () => {
    const iam = templateIam(new Deployed(template()));
    const { engine, clock, api } = await engineWith(iam);
    await api.sendAndSettle(identify('iam-prefs'));
    const link = preferencesUrl(engine.url, DEV_UNSUBSCRIBE_KEY, 'iam-prefs', new Date(clock.now().getTime() + 3_600_000));
    expect((await fetch(link)).status).toBe(200);
    const saved = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'shown=email%3Anewsletter' });
    expect(saved.status).toBe(200);
    await engine.settle();
    expect(((await api.customer('iam-prefs')) as unknown as { topicConsent: Record<string, Record<string, { status: string }>> }).topicConsent.email?.newsletter?.status).toBe('denied');
    const ingestCalls = iam.decisions.filter((d) => d.functionName === 'rapport-ingest' && d.action.startsWith('dynamodb:'));
    expect(ingestCalls.every((d) => d.allowed)).toBe(true);
    expect([...new Set(ingestCalls.map((d) => d.action))]).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem']));
  });

  it("a source's credentials are GetSecretValue of its secret: without it ingest cannot read the sources and answers 503", async () => {
    const iam = templateIam(new Deployed(withoutGrant(template(), 'rapport-ingest', 'secretsmanager:GetSecretValue')));
    const { engine } = await engineWith(iam);
    const res = await fetch(`${engine.url}/v1/identify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:`).toString('base64')}` },
      body: JSON.stringify(identify('iam-source')),
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'source_misconfigured' });
    const refused = iam.decisions.filter((d) => d.functionName === 'rapport-ingest' && d.action === 'secretsmanager:GetSecretValue' && !d.allowed);
    // Each source's own secret, as the template gives it to the function (RAPPORT_SOURCES).
    expect(refused.map((d) => /:secret:Rapport-twin-RapportSourceSecret([a-z]+)[0-9A-F]{8}-/.exec(d.resource)?.[1]).sort()).toEqual(['default', 'shop']);
  });

  it("an address's holds (AH#<hash>) are ingest's to write and erasure's to delete, as the template allows", async () => {
    const iam = templateIam(new Deployed(template()));
    const { engine, api } = await engineWith(iam);
    const address = 'iam-address@example.com';
    await api.sendAndSettle([
      { type: 'identify', userId: 'iam-address-guest', traits: { email: address } },
      { type: 'identify', userId: 'iam-address-account', traits: { email: address } },
    ]);
    await api.sendAndSettle([track('iam-address-account', 'Unsubscribed', { channel: 'email' }), track('iam-address-account', 'Message Bounced', { channel: 'email', bounceType: 'hard' })]);
    const held = () => profileItems(engine, (text) => text.includes(`"AH#${createHash('sha256').update(address).digest('hex')}"`));
    // The denial and the suppression, and the two records listed under the address (`H#<sha256(id)>`).
    expect((await held()).filter((text) => !text.includes('"H#'))).toHaveLength(2);
    expect((await held()).filter((text) => text.includes('"H#'))).toHaveLength(2);
    // Erasure queries the email index (another record has the address: its holds stay), then deletes them with the last.
    for (const id of ['iam-address-account', 'iam-address-guest']) expect((await api.del(`/v1/customers/${id}`)).status).toBe(200);
    expect(await held()).toEqual([]);
    const calls = iam.decisions.filter((d) => ['rapport-ingest', 'rapport-customers'].includes(d.functionName) && d.action.startsWith('dynamodb:'));
    expect(calls.filter((d) => !d.allowed)).toEqual([]);
  });

  it('the customer API searches by email on the email index (GSI3) as the template allows it', async () => {
    const iam = templateIam(new Deployed(template()));
    const { engine, api } = await engineWith(iam);
    await api.send([{ type: 'identify', userId: 'iam-search', traits: { email: 'iam-search@example.com' } }]);
    await engine.settle();
    const found = (await (await fetch(`${engine.url}/v1/customers?email=iam-search%40example.com`)).json()) as { customers: Array<{ id: string }> };
    expect(found.customers.map((c) => c.id)).toEqual(['iam-search']);
    expect(iam.decisions).toContainEqual({ functionName: 'rapport-customers', action: 'dynamodb:Query', resource: expect.stringMatching(/:table\/Rapport-twin-RapportProfileTable\w+\/index\/GSI3$/) as string, allowed: true });
  });

  it('a broadcast starts on the broadcast state machine: without states:StartExecution the API fails and nobody is sent to', async () => {
    const post = (engine: Engine) => fetch(`${engine.url}/v1/broadcasts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'iam-news', segment: 'tag:crm-gold', send: { channel: 'email', template: 'we-value-you' }, topic: 'newsletter' }) });
    const member = { type: 'identify', userId: 'iam-member', traits: { email: 'iam-member@example.com', tags: ['crm-gold'] } };
    const iam = templateIam(new Deployed(template()));
    const granted = await engineWith(iam);
    await granted.api.send([member]);
    await granted.clock.idle();
    expect((await post(granted.engine)).status).toBe(201);
    await granted.clock.run();
    expect(granted.engine.outbox.entries.filter((m) => m.channel === 'email')).toHaveLength(1);
    expect(iam.decisions).toContainEqual({ functionName: 'rapport-broadcasts', action: 'states:StartExecution', resource: expect.stringMatching(/^arn:aws:states:[\w-]+:\d+:stateMachine:/), allowed: true });
    // Listed from the index and read with its attribution counters, as the template allows the API function.
    const listed = (await (await fetch(`${granted.engine.url}/v1/broadcasts`)).json()) as { broadcasts: Array<{ id: string }> };
    expect(listed.broadcasts.map((b) => b.id)).toEqual(['iam-news']);
    expect(await (await fetch(`${granted.engine.url}/v1/broadcasts/iam-news`)).json()).toMatchObject({ status: 'completed', attribution: { conversions: 0 } });
    expect(iam.decisions).toContainEqual({ functionName: 'rapport-broadcasts', action: 'dynamodb:Query', resource: expect.stringMatching(/:table\/Rapport-twin-RapportProfileTable\w+\/index\/GSI1$/), allowed: true });

    const deniedIam = templateIam(new Deployed(withoutGrant(template(), 'rapport-broadcasts', 'states:StartExecution')));
    const denied = await engineWith(deniedIam);
    await denied.api.send([member]);
    await denied.clock.idle();
    expect((await post(denied.engine)).status).toBe(503);
    await denied.clock.run();
    expect(denied.engine.outbox.entries).toEqual([]);
    expect(deniedIam.decisions).toContainEqual(expect.objectContaining({ functionName: 'rapport-broadcasts', action: 'states:StartExecution', allowed: false }));
  });
});

describe('a customer managed key: each use is authorised by the key policy and the role, as KMS does', () => {
  const keyArnOf = (t: CfnTemplate) => {
    const deployed = new Deployed(t);
    const [key, ...more] = deployed.ofType('AWS::KMS::Key');
    expect(key, 'the twin deploys Rapport with encryptionKey').toBeDefined();
    expect(more).toEqual([]);
    return deployed.getAtt(key!, 'Arn');
  };
  const getProfile = (iam: TwinIam) => iam.authorize({ functionName: 'rapport-ingest', service: 'dynamodb', operation: 'GetItem', input: { TableName: 'rapport-profiles', Key: { PK: { S: 'C#kms' }, SK: { S: 'PROFILE' } } } });

  it('the synthesized template passes: DynamoDB, Secrets Manager and the dead-letter queue use the key for the caller', async () => {
    const iam = templateIam(new Deployed(template()));
    const key = keyArnOf(template());
    expect(await getProfile(iam)).toBeUndefined();
    const secret = new Deployed(template()).ofType('AWS::SecretsManager::Secret').find((id) => id.includes('UnsubscribeSecret'))!;
    expect(await iam.authorize({ functionName: 'rapport-steps', service: 'secretsmanager', operation: 'GetSecretValue', input: { SecretId: new Deployed(template()).ref(secret) } })).toBeUndefined();
    expect(await iam.authorize({ functionName: 'rapport-profile', service: 'sqs', operation: 'SendMessage', destination: 'on-failure' })).toBeUndefined();
    const uses = iam.decisions.filter((d) => d.resource === key).map((d) => `${d.functionName} ${d.action} ${d.allowed}`);
    expect(uses.sort()).toEqual(['rapport-ingest kms:Decrypt true', 'rapport-profile kms:Decrypt true', 'rapport-profile kms:GenerateDataKey true', 'rapport-steps kms:Decrypt true']);
  });

  it('a role without kms:Decrypt on the key: its function reads no table, and its runs fail, naming kms:Decrypt', async () => {
    const iam = templateIam(new Deployed(withoutGrant(template(), 'rapport-steps', 'kms:Decrypt')));
    const { engine, clock, api } = await engineWith(iam);
    await api.send([identify('iam-kms'), track('iam-kms', 'Signed Up')]);
    const run = await runToEnd(clock, engine, 'iam-kms', 'welcome');
    expect(run.status).toBe('failed');
    expect(outboxFor(engine, 'iam-kms')).toEqual([]);
    expect(iam.decisions).toContainEqual({ functionName: 'rapport-steps', action: 'kms:Decrypt', resource: keyArnOf(template()), allowed: false });
    // Refused as DynamoDB refuses it: the step's first call fails with the KMS decision's message, no other function's.
    expect(iam.decisions.filter((d) => !d.allowed).map((d) => `${d.functionName} ${d.action}`)).toEqual(['rapport-steps kms:Decrypt']);
  });

  it("a key policy that does not trust the account's IAM policies refuses a role's grant: only the uses it allows itself pass", async () => {
    const copy = structuredClone(template());
    const keyId = new Deployed(copy).ofType('AWS::KMS::Key')[0]!;
    const policy = copy.Resources[keyId]!.Properties!.KeyPolicy as { Statement: Array<{ Action: unknown; Principal?: unknown; Condition?: unknown }> };
    // Without the statement that lets IAM policies grant the key (root, kms:*): the key policy alone decides.
    policy.Statement = policy.Statement.filter((st) => !(st.Action === 'kms:*' && JSON.stringify(st.Principal).includes(':root')));
    const iam = templateIam(new Deployed(copy));
    expect((await getProfile(iam))?.message).toMatch(/is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:[\w-]+:\d+:key\//);
    // Its Secrets Manager statement still trusts the account's IAM policies for uses through that service.
    const secret = new Deployed(copy).ofType('AWS::SecretsManager::Secret').find((id) => id.includes('UnsubscribeSecret'))!;
    expect(await iam.authorize({ functionName: 'rapport-steps', service: 'secretsmanager', operation: 'GetSecretValue', input: { SecretId: new Deployed(copy).ref(secret) } })).toBeUndefined();
  });
});

describe('the twin tier enforces, it does not just look', () => {
  it('a journey through every function is authorised call by call: each function used its own role', async () => {
    const iam = templateIam(new Deployed(template()));
    const t = await engineWith(iam);
    await t.api.send([identify('iam-all'), track('iam-all', 'Signed Up')]);
    await t.clock.idle();
    await t.api.send(track('iam-all', 'Order Completed', { orderId: 'o-1', revenue: 20, currency: 'EUR' }));
    await t.clock.run();
    expect((await t.api.del('/v1/customers/iam-all')).status).toBe(200);
    await t.engine.sweep();
    // The services' invocations of the functions were authorised too, each by its own permission or role.
    expect(iam.decisions.filter((d) => d.invoker !== undefined).map((d) => d.invoker)).toEqual(
      expect.arrayContaining(['route:ingest POST /v1/events', 'rule:profile-consumer', 'stateMachine:welcome', 'rule:JourneyRunEndedRule', 'route:customers DELETE /v1/customers/{id}']),
    );
    const used = new Map<string, Set<string>>();
    for (const d of iam.decisions) {
      expect(d, `${d.functionName} ${d.action} ${d.resource}`).toMatchObject({ allowed: true });
      used.set(d.functionName, (used.get(d.functionName) ?? new Set()).add(d.action));
    }
    // The starter is not among them: Signed Up is a customer event, enrolled by the profile consumer (derived triggers only reach the starter).
    expect([...used.keys()].sort()).toEqual(['rapport-customers', 'rapport-ingest', 'rapport-profile', 'rapport-run-ended', 'rapport-steps', 'rapport-sweep']);
    expect(used.get('rapport-ingest')).toEqual(expect.objectContaining(new Set(['events:PutEvents'])));
    expect([...used.get('rapport-profile')!]).toEqual(expect.arrayContaining(['states:StartExecution', 'states:StopExecution']));
  });
});
