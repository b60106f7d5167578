import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROADCASTS, FEEDBACK, INGEST, JOURNEYS, PROFILE } from '../../infra/cdk/defaults';
import { journeySpec } from '../../infra/cdk/journeys';
import { readJourneySpecs } from '../../functions/journeys/aws';
import type { Synthesised } from './synth';
import { functionAssetDir, functionIdByService, renderText, synthRapport, TEMPLATES_DIR, TEST_CONFIG_DIR } from './synth';

/** The modules a bundle imports at run time (static and dynamic), as esbuild's parser sees them. */
function externalImports(bundleFile: string): string[] {
  const { metafile } = buildSync({
    entryPoints: [bundleFile],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  return [...new Set(Object.values(metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path)))].sort();
}

/**
 * The one test file that bundles: esbuild is the slow part of synth (about a
 * second per function), so every assertion on what `cdk deploy` would upload
 * shares this synth; the other files synthesise with `bundle: false`.
 */
describe('Rapport-dev bundles', () => {
  let synthesised: Synthesised;
  // Ten functions bundled by esbuild, one after the other (synth is synchronous): the whole file takes 31 s alone on
  // the 2-core machine at load ~10, but the hook took 67 s in a whole `npm test` at load ~15 (2026-12-07), over the
  // 60 s hook timeout, and none of the file's tests ran.
  beforeAll(() => {
    synthesised = synthRapport({ stageName: 'dev' });
  }, 180_000);

  const FUNCTIONS = {
    ingest: { service: INGEST.serviceName, entry: INGEST.entry },
    consumer: { service: PROFILE.consumer.serviceName, entry: PROFILE.consumer.entry },
    sweep: { service: PROFILE.sweep.serviceName, entry: PROFILE.sweep.entry },
    customers: { service: PROFILE.customerApi.serviceName, entry: PROFILE.customerApi.entry },
    step: { service: JOURNEYS.step.serviceName, entry: JOURNEYS.step.entry },
    starter: { service: JOURNEYS.starter.serviceName, entry: JOURNEYS.starter.entry },
    runEnded: { service: JOURNEYS.runEnded.serviceName, entry: JOURNEYS.runEnded.entry },
    sesFeedback: { service: FEEDBACK.serviceName, entry: FEEDBACK.entry },
    broadcastApi: { service: BROADCASTS.api.serviceName, entry: BROADCASTS.api.entry },
    broadcastPage: { service: BROADCASTS.page.serviceName, entry: BROADCASTS.page.entry },
  } as const;
  type Which = keyof typeof FUNCTIONS;
  const assetDir = (which: Which) => functionAssetDir(synthesised, functionIdByService(synthesised.template, FUNCTIONS[which].service));
  /** The folders next to the handler in a bundle (what synth copied in). */
  const foldersOf = (which: Which) =>
    readdirSync(assetDir(which), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();

  it.each(Object.keys(FUNCTIONS) as Which[])('bundles the %s handler locally as ESM that defines require, with the AWS SDK inside', (which) => {
    const dir = assetDir(which);
    const bundle = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    const sourceMap = JSON.parse(readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')) as { sources: string[] };

    expect(sourceMap.sources.some((source) => source.endsWith(FUNCTIONS[which].entry))).toBe(true);
    expect(bundle.slice(0, bundle.indexOf('\n'))).toMatch(
      /^import \{ createRequire as (\w+) \} from 'node:module'; const require = \1\(import\.meta\.url\);$/,
    );
    // Whatever stays external is imported at run time: only Node built-ins may (liquidjs imports `fs`, not `node:fs`).
    // esbuild parses the bundle, so a module name inside a string (an SDK error message) is not taken for an import.
    const imported = externalImports(path.join(dir, 'index.mjs'));
    expect(imported).toContain('node:module');
    expect(imported.filter((specifier) => !specifier.startsWith('node:') && !builtinModules.includes(specifier))).toEqual([]);
    // The pinned AWS SDK is inside the bundle, not taken from the runtime.
    expect(sourceMap.sources.some((source) => source.includes('node_modules/@aws-sdk/'))).toBe(true);
    // Runtime code never carries the CDK or the journey compiler (functions read compiled JSON).
    expect(sourceMap.sources.filter((source) => /node_modules\/aws-cdk-lib\/|\/workflows\//.test(source))).toEqual([]);
  });

  /**
   * Import a bundle the way the Lambda runtime does (Node 24, ESM, the environment the stack gives the
   * function, `AWS_EXECUTION_ENV` as Lambda sets it, or not) and report what loading it did. Every AWS
   * endpoint points at a local stand-in that answers Secrets Manager (the step function reads the
   * unsubscribe secret at load) and records any other call.
   */
  let endpoint: Server;
  const awsCalls: string[] = [];
  beforeAll(async () => {
    endpoint = createServer((req, res) => {
      const target = String(req.headers['x-amz-target'] ?? `${req.method} ${req.url}`);
      awsCalls.push(target);
      req.resume();
      req.on('end', () => {
        const ok = target === 'secretsmanager.GetSecretValue';
        res.writeHead(ok ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(ok ? { ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x', Name: 'x', SecretString: 'unsubscribe-secret-for-the-load-test' } : { __type: 'UnexpectedCall', message: target }));
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => endpoint.close(() => resolve())));

  async function loadBundle(which: Which, lambda: boolean): Promise<{ handler: string; xrayLoaded: boolean }> {
    const id = functionIdByService(synthesised.template, FUNCTIONS[which].service);
    const fn = synthesised.template.toJSON().Resources[id] as { Properties: { Environment?: { Variables?: Record<string, unknown> } } };
    // Pseudo parameters become what CloudFormation gives; other intrinsics (Refs to tables, the bus,
    // secrets) ARN-shaped placeholders; `/var/task` (where Lambda unpacks the bundle) is the asset folder.
    const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '123456789012', 'AWS::URLSuffix': 'amazonaws.com' };
    const resolve = (v: unknown) =>
      renderText(v)
        .replace(/<Ref:(AWS::\w+)>/g, (ref: string, name: string) => pseudo[name] ?? ref)
        .replace(/<(?:Ref|GetAtt):([^>]+)>/g, (_, id: string) => `arn:aws:local:eu-west-1:123456789012:${id.replace(/\W/g, '-')}`)
        .replace(/^\/var\/task(?=\/|$)/, assetDir(which));
    const env = Object.fromEntries(Object.entries(fn.Properties.Environment?.Variables ?? {}).map(([k, v]) => [k, resolve(v)]));
    const script = `const m = await import('./index.mjs'); console.log(JSON.stringify({ handler: typeof m.handler, xrayLoaded: process.namespaces?.AWSXRay !== undefined }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: assetDir(which),
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL: `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`,
        ...env,
        ...(lambda ? { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' } : {}),
      },
      encoding: 'utf8',
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { handler: string; xrayLoaded: boolean };
  }

  it.each(['step', 'broadcastPage'] as const)('carries the WhatsApp and push SDK clients inside the %s bundle: a send never depends on the runtime\'s SDK', (which) => {
    // The adapters import them with a plain import() (evaluated at the first WhatsApp message or push), which
    // esbuild follows: a computed specifier would leave them out, and neither the import check above nor a load sees it.
    const { sources } = JSON.parse(readFileSync(path.join(assetDir(which), 'index.mjs.map'), 'utf8')) as { sources: string[] };
    for (const client of ['client-sns', 'client-socialmessaging']) expect(sources.filter((source) => source.includes(`node_modules/@aws-sdk/${client}/`)).length, client).toBeGreaterThan(0);
  });

  it('keeps class names through minification: each error keeps its name, which the state machines retry on and failure reasons show', () => {
    // In AWS the step Lambda's error type is the thrown error's `name` (RapportError sets it from the class):
    // minified without keepNames, TransientStepError was thrown as "CI" and no Retry on it ever matched.
    const retried = new Set<string>();
    for (const machine of Object.values(synthesised.template.findResources('AWS::StepFunctions::StateMachine'))) {
      const text = renderText((machine as { Properties: { DefinitionString: unknown } }).Properties.DefinitionString);
      for (const [, names] of text.matchAll(/"ErrorEquals":\s*\[([^\]]*)\]/g)) for (const [, name] of names!.matchAll(/"([^"]+)"/g)) if (!/^(States|Lambda)\./.test(name!)) retried.add(name!);
    }
    expect([...retried]).toContain('TransientStepError');
    // A class name survives minification only as a string (esbuild's keepNames: `__name(cls, "Name")`).
    const missing = (which: Which, names: string[]) => {
      const bundle = readFileSync(path.join(assetDir(which), 'index.mjs'), 'utf8');
      return names.filter((name) => !bundle.includes(`"${name}"`));
    };
    expect(missing('step', [...retried, 'TemplateRenderError', 'SendOutcomeUnknownError', 'StepConfigError'])).toEqual([]);
    expect(missing('consumer', ['VersionConflictError', 'UnreadableProfileError', 'DerivedEventsUnpublishedError'])).toEqual([]);
    // The broadcast page is retried on the same names, and records these as a recipient's failure.
    expect(missing('broadcastPage', [...retried, 'TemplateRenderError', 'SendOutcomeUnknownError'])).toEqual([]);
  });

  it.each(Object.keys(FUNCTIONS) as Which[])('the %s bundle loads in Node 24 with its stack environment; the X-Ray SDK is loaded in Lambda only', async (which) => {
    expect(process.version).toMatch(/^v24\./);
    awsCalls.length = 0;
    expect(await loadBundle(which, true)).toEqual({ handler: 'function', xrayLoaded: true });
    // Outside Lambda the SDK and its per-promise async hook stay out (tracing is off there anyway).
    expect(await loadBundle(which, false)).toEqual({ handler: 'function', xrayLoaded: false });
    // Loading calls no AWS API: even the step function reads its unsubscribe keys when a message needs them
    // (cached 5 minutes), not at cold start, so a rotated key is picked up without one.
    expect(awsCalls).toEqual([]);
  });

  it.each([
    ['ingest', ['config']],
    ['consumer', ['config', 'journeys']],
    ['sweep', ['config']],
    ['customers', ['config', 'journeys']],
    // releases/: the repository's journeys' first files (workflows/releases/<id>/v1), changed in place since.
    ['step', ['config', 'releases', 'templates']],
    ['starter', ['journeys']],
    ['runEnded', []],
  ] as const)('copies into the %s bundle exactly the folders %j', (which, folders) => {
    expect(foldersOf(which)).toEqual(folders);
  });

  it.each(['consumer', 'sweep', 'customers', 'step'] as const)('copies tags.yaml and segmentation.config.yaml into the %s bundle under config/', (which) => {
    for (const file of ['tags.yaml', 'segmentation.config.yaml']) {
      expect(readFileSync(path.join(assetDir(which), 'config', file), 'utf8'), file).toBe(readFileSync(path.join(TEST_CONFIG_DIR, file), 'utf8'));
    }
  });

  it('copies tags.yaml, topics.yaml and tracking-plan.yaml into the ingest bundle under config/: tags senders may set, the preference page\'s topics, what known events carry', () => {
    expect(readdirSync(path.join(assetDir('ingest'), 'config')).sort()).toEqual(['tags.yaml', 'topics.yaml', 'tracking-plan.yaml']);
    for (const file of ['tags.yaml', 'topics.yaml', 'tracking-plan.yaml']) {
      expect(readFileSync(path.join(assetDir('ingest'), 'config', file), 'utf8'), file).toBe(readFileSync(path.join(TEST_CONFIG_DIR, file), 'utf8'));
    }
  });

  it('copies every template into the step bundle under templates/', () => {
    const templates = readdirSync(TEMPLATES_DIR).filter((name) => name.endsWith('.liquid')).sort();
    const dir = path.join(assetDir('step'), 'templates');

    expect(readdirSync(dir).sort()).toEqual(templates);
    for (const name of templates) expect(readFileSync(path.join(dir, name), 'utf8'), name).toBe(readFileSync(path.join(TEMPLATES_DIR, name), 'utf8'));
  });

  it.each(['starter', 'consumer', 'customers'] as const)(
    "puts journeys.json in the %s bundle: every compiled journey's spec, which the runtime's loader reads back unchanged",
    (which) => {
      const file = path.join(assetDir(which), 'journeys', 'journeys.json');
      const written = JSON.parse(readFileSync(file, 'utf8')) as { format: number; journeys: unknown[] };

      expect(written).toEqual({ format: 1, journeys: synthesised.stack.rapport.journeys.map(journeySpec) });
      expect(readJourneySpecs(file)).toEqual(written.journeys);
      expect(written.journeys.map((j) => (j as { id: string }).id)).toEqual(['complaint-follow-up', 'welcome', 'win-back']);
    },
  );

  it('keeps state machine definitions out of journeys.json: the functions need patterns and entry rules only', () => {
    const text = readFileSync(path.join(assetDir('starter'), 'journeys', 'journeys.json'), 'utf8');
    expect(text).not.toContain('"States"');
    expect(text).not.toContain('arn:aws:states');
  });

  it('leaves the config and journey files out of the run-ended bundle, and the journeys out of the ingest bundle', () => {
    expect(existsSync(path.join(assetDir('runEnded'), 'config'))).toBe(false);
    for (const which of ['ingest', 'runEnded'] as const) expect(existsSync(path.join(assetDir(which), 'journeys')), which).toBe(false);
  });
});
