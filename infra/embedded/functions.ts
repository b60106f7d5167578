import type { Context } from 'aws-lambda';

/**
 * The engine's functions, by the name each runs as (its Powertools service name, as in the stack): what an
 * invocation is authorised as, and the keys of `EngineOptions.functions`.
 */
export const ENGINE_FUNCTIONS = [
  'rapport-ingest',
  'rapport-profile',
  'rapport-sweep',
  'rapport-customers',
  'rapport-steps',
  'rapport-starter',
  'rapport-run-ended',
  'rapport-ses-feedback',
] as const;
export type EngineFunctionName = (typeof ENGINE_FUNCTIONS)[number];

/**
 * A Lambda handler as the Lambda runtime calls it: the event the function's trigger sends (an HTTP API v2
 * request, an EventBridge event, a state's Payload, a status change) and a context. What a bundle exports.
 */
export type LambdaHandler = (event: never, context: Context) => Promise<unknown>;

/**
 * Handlers to run instead of the ones the engine builds from the sources, by function: the twin passes the
 * handlers of the bundles `cdk synth` produces (minified as deployed), which reach the engine through the AWS
 * SDK as deployed functions reach AWS. The engine invokes them with the events AWS would send.
 */
export type FunctionHandlers = Partial<Record<EngineFunctionName, LambdaHandler>>;

/** The handler the engine runs as `name`: the one `functions` gives, else the one it built from the sources. */
export function handlerFor<H>(functions: FunctionHandlers | undefined, name: EngineFunctionName, built: H): H {
  return (functions?.[name] as H | undefined) ?? built;
}
