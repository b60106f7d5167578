/**
 * `rapport compile`: every journey to `<id>.asl.json` (the state machine) and
 * `<id>.rules.json` (its EventBridge patterns), and the transitions per path.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileJourney, JourneyError, loadJourneysFromDir, type CompiledJourney } from '../../../workflows/journeys';
import { checkAsl, PLACEHOLDER_STEP_FUNCTION_ARN } from '../asl';
import type { Parsed } from '../commands';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';
import { knownTagsOf, knownTopicsOf, plural, printFailure, workflowsOf, type Problem } from '../workflows';

/** Step Functions Standard: $25 per million state transitions. */
const USD_PER_TRANSITION = 25 / 1_000_000;
/** Paths printed per journey; the rest are counted. */
const PATHS_SHOWN = 20;

export async function execute({ values }: Parsed, ctx: Context): Promise<ExitCode> {
  const w = workflowsOf(values, ctx);
  const arn = typeof values['step-function-arn'] === 'string' ? values['step-function-arn'] : PLACEHOLDER_STEP_FUNCTION_ARN;
  if (!/^arn:aws[a-z-]*:lambda:/.test(arn)) throw new UsageError(`--step-function-arn: expected a Lambda ARN (arn:aws:lambda:<region>:<account>:function:<name>), got ${JSON.stringify(arn)}`);
  const out = resolve(ctx.cwd, String(values.out));

  let loaded: ReturnType<typeof loadJourneysFromDir>;
  try {
    // The tags the journeys read are checked as the engine and synth check them (not without a valid tags.yaml: validate reports that).
    const tags = knownTagsOf(w);
    loaded = loadJourneysFromDir(w.journeysDir, w.templatesDir, { webhookTargets: w.webhookTargets, ...(tags !== undefined && { tags }), topics: knownTopicsOf(w) });
  } catch (error) {
    if (error instanceof JourneyError) throw printFailure(ctx, w, error.errors);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw printFailure(ctx, w, [{ file: (error as NodeJS.ErrnoException).path ?? w.dir, line: 1, column: 1, path: '(file)', message: 'not found' }]);
    throw error;
  }

  const compiled: Array<{ file: string; journey: CompiledJourney }> = [];
  const problems: Problem[] = [];
  for (const { file, journey } of loaded.journeys) {
    try {
      const result = compileJourney(journey, { stepFunctionArn: arn, ...loaded.catalog, webhookTargets: w.webhookTargets, topics: loaded.topics });
      for (const message of checkAsl(result.definition)) problems.push({ file, line: 1, column: 1, path: '(compiled ASL)', message });
      compiled.push({ file, journey: result });
    } catch (error) {
      if (!(error instanceof JourneyError)) throw error;
      problems.push(...error.errors.map((p) => ({ ...p, file })));
    }
  }
  if (problems.length > 0) throw printFailure(ctx, w, problems);

  mkdirSync(out, { recursive: true });
  for (const { journey: j } of compiled) {
    const asl = join(out, `${j.id}.asl.json`);
    const rules = join(out, `${j.id}.rules.json`);
    writeFileSync(asl, `${JSON.stringify(j.definition, null, 2)}\n`);
    writeFileSync(rules, `${JSON.stringify({ journeyId: j.id, version: j.version, triggerPatterns: j.triggerPatterns, goalPatterns: j.goalPatterns, exitPatterns: j.exitPatterns }, null, 2)}\n`);

    const counts = j.transitionsPerPath.map((p) => p.transitions);
    const [min, max] = [Math.min(...counts), Math.max(...counts)];
    const range = min === max ? `${min}` : `${min}-${max}`;
    const cost = (n: number) => `$${(n * USD_PER_TRANSITION * 1000).toFixed(3)}`;
    ctx.out(`${j.id} v${j.version}: ${w.show(asl)}, ${w.show(rules)}`);
    ctx.out(`  ${plural(j.transitionsPerPath.length, 'path')}, ${range} state transitions per run (${min === max ? cost(min) : `${cost(min)}-${cost(max)}`} per 1,000 runs)`);
    const width = String(max).length;
    for (const path of [...j.transitionsPerPath].sort((a, b) => a.transitions - b.transitions).slice(0, PATHS_SHOWN)) {
      ctx.out(`  ${String(path.transitions).padStart(width)}  ${path.path.join(' > ')}`);
    }
    if (j.transitionsPerPath.length > PATHS_SHOWN) ctx.out(`  ... and ${j.transitionsPerPath.length - PATHS_SHOWN} more paths`);
  }
  ctx.out(`compiled ${plural(compiled.length, 'journey')} into ${w.show(out)}`);
  return EXIT.ok;
}
