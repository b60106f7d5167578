import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JourneyStore } from '../../functions/journeys/store';
import { documentClient } from '../../functions/profile';
import { ENV } from '../../shared';
import { JOURNEY_ENV } from '../../shared/config/journey-env';
import { readTemplates as readAllTemplates } from '../../functions/journeys/templates';
import { templateRelease } from '../../shared';
import { recordReleases, releaseOfFolder } from '../../workflows/journeys';
import { busEvent, startAwsStandIn, TABLE, type AwsStandIn } from '../helpers/aws';
import { identify } from '../helpers/events';
import { TEMPLATES_DIR } from './synth';

/**
 * Issue 15 in AWS: the step function (functions/journeys/step-handler.ts, as bundled: templates/ and releases/
 * beside it) renders a run's messages with the templates the run started with: the template release compiled into
 * its steps, else (a run started before releases were compiled in) its journey version's. Version 1 of welcome was
 * recorded as a release (what `cdk synth` writes to workflows/releases and bundles); the templates changed with
 * version 2 (recorded too), then changed again without a bump (recorded as `v2@<release>`).
 */
const UNSUBSCRIBE_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rapport-unsubscribe';
const context = (functionName: string) => ({ functionName, awsRequestId: `req-${functionName}`, getRemainingTimeInMillis: () => 30_000 }) as unknown as Context;
type Handler<E> = (event: E, context: Context) => Promise<unknown>;

const scratch = mkdtempSync(path.join(tmpdir(), 'rapport-aws-releases-'));
const templatesDir = path.join(scratch, 'templates');
const releasesDir = path.join(scratch, 'releases');
/** Template releases: version 1's, version 2's first, the files now (version 2 changed in place), and one kept nowhere. */
const releases: Record<'v1' | 'v2' | 'now' | 'lost', string> = { v1: '', v2: '', now: '', lost: '0123456789abcdef' };
/** The sources of a template's files in a folder, as the compiler hashes them. */
const readTemplates = (dir: string, template: string) => Object.fromEntries(Object.entries(readAllTemplates(dir)).filter(([key]) => key.startsWith(`${template}.`)));

describe('AWS: a run renders the templates of the journey version it started on', () => {
  let aws: AwsStandIn;
  let consume: Handler<EventBridgeEvent<string, unknown>>;
  let step: Handler<unknown>;
  let journeys: JourneyStore;

  beforeAll(async () => {
    // Prepare: version 1's templates recorded as its release, then the welcome email changed for version 2.
    cpSync(TEMPLATES_DIR, templatesDir, { recursive: true });
    const welcomeV1 = { id: 'welcome', version: 1, steps: [{ id: 'send-welcome', send: { channel: 'email', template: 'welcome' } }] } as never;
    expect(recordReleases(releasesDir, templatesDir, [welcomeV1])).toEqual(['welcome/v1']);
    const file = path.join(templatesDir, 'welcome.email.liquid');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^Subject: .*$/m, 'Subject: Version two says hello'));
    const welcomeV2 = { ...(welcomeV1 as object), version: 2 } as never;
    expect(recordReleases(releasesDir, templatesDir, [welcomeV2])).toEqual(['welcome/v2']);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^Subject: .*$/m, 'Subject: Changed in place'));
    releases.v1 = releaseOfFolder(path.join(releasesDir, 'welcome', 'v1'));
    releases.v2 = releaseOfFolder(path.join(releasesDir, 'welcome', 'v2'));
    releases.now = templateRelease(readTemplates(templatesDir, 'welcome'));
    expect(recordReleases(releasesDir, templatesDir, [welcomeV2])).toEqual([`welcome/v2@${releases.now}`]);
    expect(new Set(Object.values(releases)).size).toBe(4);
    mkdirSync(path.join(releasesDir, 'welcome', 'v1.partial'), { recursive: true }); // a crashed recording: never read
    aws = await startAwsStandIn({
      secrets: { [UNSUBSCRIBE_SECRET]: 'aws-test-unsubscribe-key' },
      env: {
        [ENV.UNSUBSCRIBE_SECRET]: UNSUBSCRIBE_SECRET,
        [ENV.PUBLIC_URL]: 'https://rapport.example.com',
        [JOURNEY_ENV.EMAIL_FROM_ADDRESS]: 'hello@example.com',
        [JOURNEY_ENV.TEMPLATES_DIR]: templatesDir,
        [JOURNEY_ENV.RELEASES_DIR]: releasesDir,
        [JOURNEY_ENV.SEND_POLICY]: JSON.stringify({ frequencyCap: 10, frequencyWindowDays: 7, quietHours: null, defaultTimeZone: 'UTC' }),
      },
    });
    ({ handler: consume } = (await import('../../functions/profile/consumer-handler')) as unknown as { handler: typeof consume });
    ({ handler: step } = (await import('../../functions/journeys/step-handler')) as unknown as { handler: typeof step });
    journeys = new JourneyStore(documentClient(aws.dynamo.client), TABLE);
  }, 60_000);
  afterAll(async () => {
    await aws.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The subject SES was asked to send to `id`. */
  const subjectTo = (id: string) => {
    const [call, ...more] = aws.calls.filter((c) => c.target === 'POST /v2/email/outbound-emails' && JSON.stringify(c.body).includes(`${id}@example.com`));
    expect(more).toEqual([]);
    return (call?.body as { Content: { Simple: { Subject: { Data: string } } } } | undefined)?.Content.Simple.Subject.Data;
  };

  it.each([
    ['a run of version 1 with its release', 'rel-v1', 1, 'v1', 'Welcome aboard, there!'],
    ['a run of version 1 started before releases were compiled in (its version\'s files)', 'rel-v1-old', 1, undefined, 'Welcome aboard, there!'],
    ['a run of version 2 started before the change in place', 'rel-v2', 2, 'v2', 'Version two says hello'],
    ['a run of version 2 started after the change in place', 'rel-v2-now', 2, 'now', 'Changed in place'],
    ['a run with a release kept nowhere (the current templates)', 'rel-v2-lost', 2, 'lost', 'Changed in place'],
    ['a run of a version never recorded (the current templates)', 'rel-v7', 7, undefined, 'Changed in place'],
  ] as const)('%s', async (_, id, version, release, subject) => {
    // Prepare: a customer with an address, in a running welcome run of that version.
    await consume(busEvent(identify(new Date(Date.now() - 60_000).toISOString(), { email: `${id}@example.com` }, { userId: id })), context('rapport-profile'));
    await journeys.putRun({ journeyId: 'welcome', executionName: `welcome-${id}`, customerId: id, key: 'welcome', status: 'running', startedAt: new Date().toISOString(), triggerMessageId: `signup-${id}` });
    // Act: the Task payload the compiled ASL sends for the run's send step.
    await step(
      { journeyId: 'welcome', version, ...(release !== undefined && { release: releases[release] }), stepId: 'send-welcome', action: 'send', config: { channel: 'email', template: 'welcome' }, customerId: id, trigger: { messageId: `signup-${id}`, event: 'Signed Up', properties: {} }, execution: `welcome-${id}` },
      context('rapport-steps'),
    );
    // Assess
    expect(subjectTo(id)).toBe(subject);
  });
});
