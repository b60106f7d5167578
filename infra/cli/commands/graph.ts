/** `rapport graph <journey>`: the journey's Mermaid flowchart on stdout. */
import { compileJourney } from '../../../workflows/journeys';
import { PLACEHOLDER_STEP_FUNCTION_ARN } from '../asl';
import type { Parsed } from '../commands';
import { EXIT, type Context, type ExitCode } from '../io';
import { findJourneyFile, loadOneJourney, workflowsOf } from '../workflows';

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  const w = workflowsOf(values, ctx);
  const { journey, catalog, topics } = loadOneJourney(findJourneyFile(positionals[0]!, w, ctx), w, ctx);
  const compiled = compileJourney(journey, { stepFunctionArn: PLACEHOLDER_STEP_FUNCTION_ARN, ...catalog, webhookTargets: w.webhookTargets, topics });
  const diagram = compiled.mermaid.trimEnd();
  ctx.out(values.markdown === true ? `\`\`\`mermaid\n${diagram}\n\`\`\`` : diagram);
  return EXIT.ok;
}
