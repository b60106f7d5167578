import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config/env';
import { FUNCTION_DEFAULTS, REPO_ROOT } from './defaults';

/**
 * Defines `require` in the ESM bundle, for CommonJS dependencies that call it.
 * The import is aliased so it cannot collide with a bundled `createRequire`.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __rapportCreateRequire } from 'node:module'; const require = __rapportCreateRequire(import.meta.url);";

/** Files a function reads at run time, copied into one folder of its bundle. */
export interface BundledFiles {
  /** Folder of the bundle, e.g. `config`: the function finds the files in `/var/task/<folder>`. */
  readonly folder: string;
  /** Absolute paths on the synth machine. */
  readonly files: readonly string[];
}

/** What differs between Rapport's functions; everything else is `rapportFunction`'s. */
export interface RapportFunctionProps {
  /** The stage (`RAPPORT_STAGE`): the functions' metrics carry it as the `stage` dimension. */
  readonly stageName: string;
  readonly description: string;
  /** Handler file, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  /** Powertools service name (logs, metrics, traces). */
  readonly serviceName: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logGroup: logs.ILogGroup;
  /** The function's own variables; the stage, Powertools and Node settings are added. */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Files copied into `<bundle>/<folder>/` after esbuild ran, so the function reads
   * them from `/var/task/<folder>` (absolute paths on the synth machine).
   */
  readonly bundledFiles?: readonly BundledFiles[];
  /** Lambda's handling of failed asynchronous invocations (retries, on-failure destination). */
  readonly asyncInvoke?: Pick<lambda.EventInvokeConfigOptions, 'retryAttempts' | 'maxEventAge' | 'onFailure'>;
  /** Customer-managed key the environment variables are encrypted with; the function may decrypt with it. */
  readonly encryptionKey?: kms.IKey;
}

/**
 * A Rapport Lambda function: nodejs24.x on arm64 with X-Ray, its own log group,
 * bundled locally (never in Docker) by esbuild as minified ESM with source maps,
 * the AWS SDK inside the bundle (the handlers pin its version).
 */
export function rapportFunction(scope: Construct, id: string, props: RapportFunctionProps): nodejs.NodejsFunction {
  const { bundledFiles } = props;
  const fn = new nodejs.NodejsFunction(scope, id, {
    description: props.description,
    entry: path.join(REPO_ROOT, props.entry),
    handler: FUNCTION_DEFAULTS.handler,
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    tracing: lambda.Tracing.ACTIVE,
    logGroup: props.logGroup,
    role: functionRole(scope, id, props.logGroup),
    ...(props.encryptionKey !== undefined && { environmentEncryption: props.encryptionKey }),
    ...props.asyncInvoke,
    environment: {
      ...props.environment,
      // Every function knows its stage: functions/observability.ts makes it a dimension of each metric.
      [ENV.STAGE]: props.stageName,
      POWERTOOLS_SERVICE_NAME: props.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: FUNCTION_DEFAULTS.metricsNamespace,
      NODE_OPTIONS: '--enable-source-maps',
    },
    bundling: {
      forceDockerBundling: false,
      // The handlers pin their AWS SDK versions: bundle them instead of using the runtime's.
      bundleAwsSDK: true,
      format: nodejs.OutputFormat.ESM,
      target: FUNCTION_DEFAULTS.bundlingTarget,
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      minify: true,
      // Class names survive minification: an error's name is its class name (RapportError), and Lambda reports
      // it as the error type that the state machines' Retry/Catch match (TransientStepError) and reasons show.
      keepNames: true,
      sourceMap: true,
      sourcesContent: false,
      logLevel: nodejs.LogLevel.WARNING,
      ...(bundledFiles && bundledFiles.length > 0 && { commandHooks: copyAfterBundling(bundledFiles) }),
    },
  });
  // CDK grants the key's use to the role when it encrypts the environment; say so explicitly all the same.
  props.encryptionKey?.grantDecrypt(fn);
  return fn;
}

/**
 * The function's role: Lambda may assume it, and it may write to its own log
 * group, nothing else yet (the managed AWSLambdaBasicExecutionRole would allow
 * creating and writing any log group of the account). Grants add the rest.
 */
function functionRole(scope: Construct, id: string, logGroup: logs.ILogGroup): iam.Role {
  return new iam.Role(new Construct(scope, `${id}Identity`), 'ServiceRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    inlinePolicies: {
      Logs: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            // Streams of the group: <group ARN>:log-stream:<name>; CDK's logGroupArn already ends in ':*'.
            resources: [logGroup.logGroupArn],
          }),
        ],
      }),
    },
  });
}

/**
 * Copies files into folders of the bundle once esbuild has written it. Runs in
 * the local (POSIX) shell: Rapport never bundles in Docker, see `assertLocalEsbuild`.
 */
function copyAfterBundling(bundledFiles: readonly BundledFiles[]): nodejs.ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir: string, outputDir: string) =>
      bundledFiles.flatMap(({ folder, files }) => {
        const target = path.join(outputDir, folder);
        return [
          `mkdir -p ${shellQuote(target)}`,
          ...files.map((file) => `cp ${shellQuote(file)} ${shellQuote(path.join(target, path.basename(file)))}`),
        ];
      }),
  };
}

/** One POSIX shell word, whatever the path contains. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * Bundling must never fall back to Docker (CDK does when it cannot find esbuild):
 * synth has to work offline, on machines without Docker.
 */
export function assertLocalEsbuild(constructPath: string): void {
  try {
    createRequire(path.join(REPO_ROOT, 'package.json')).resolve('esbuild');
  } catch {
    throw new Error(
      `${constructPath}: esbuild is not installed in ${REPO_ROOT}; Rapport's functions are bundled with local esbuild, never with Docker (run npm ci)`,
    );
  }
}
