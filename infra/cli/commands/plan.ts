/**
 * `rapport plan`: what the journeys in the working tree change against a git ref (default HEAD), and, with
 * `--engine`, how many customers wait now at each step that changes or disappears.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { readTemplates, templateFilesText } from '../../../functions/journeys/templates';
import { JourneyError, loadJourneysFromDir, type Journey } from '../../../workflows/journeys';
import type { Parsed } from '../commands';
import { engineBase } from '../engine-client';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';
import { planJourneys, type JourneyPlan } from '../plan';
import { knownTagsOf, knownTopicsOf, plural, printFailure, workflowsOf, type Workflows } from '../workflows';

const git = (cwd: string, args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });

export async function execute({ values }: Parsed, ctx: Context): Promise<ExitCode> {
  const w = workflowsOf(values, ctx);
  const ref = typeof values.against === 'string' ? values.against : 'HEAD';
  let top: string;
  let commit: string;
  try {
    top = git(w.dir, ['rev-parse', '--show-toplevel']).toString().trim();
  } catch {
    throw new UsageError(`--against: ${w.show(w.dir)} is not in a git repository, so there is no ${ref} to compare with`, 'plan');
  }
  try {
    commit = git(top, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).toString().trim();
  } catch {
    throw new UsageError(`--against: no commit ${JSON.stringify(ref)} in ${top}`, 'plan');
  }

  const head = load(ctx, w, w.journeysDir, w.templatesDir);
  // The ref's journeys and templates, as files in a temporary folder, loaded the same way.
  const scratch = mkdtempSync(join(tmpdir(), 'rapport-plan-'));
  let base: Map<string, Journey>;
  const baseTemplates = join(scratch, 'templates');
  try {
    const baseJourneys = join(scratch, 'journeys.d');
    extract(top, commit, relative(top, w.journeysDir), baseJourneys);
    extract(top, commit, relative(top, w.templatesDir), baseTemplates);
    base = load(ctx, { ...w, show: (p) => `${ref}:${relative(scratch, p)}` }, baseJourneys, baseTemplates);
    // Each side's template files read once.
    const [headSources, baseSources] = [w.templatesDir, baseTemplates].map((dir) => (existsSync(dir) ? readTemplates(dir) : {}));
    const plans = planJourneys(base, head, (name) => templateFilesText(headSources!, name) !== templateFilesText(baseSources!, name));
    const running = typeof values.engine === 'string' ? await runningAt(ctx, engineBase(values, ctx, 'plan'), plans) : undefined;
    ctx.out(`Plan: ${w.show(w.journeysDir)} against ${ref} (${commit.slice(0, 7)})${running ? `, runs from ${running.engine}` : ''}`);
    for (const plan of plans) for (const line of describe(plan, running)) ctx.out(line);
    ctx.out(plans.length === 0 ? 'No change to the journeys.' : `${plural(plans.length, 'journey')} changed.`);
    return plans.length === 0 ? EXIT.ok : EXIT.changed;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The journeys of a folder by id, loaded as the engine loads them; a journey that does not load stops the plan (its problems printed). */
function load(ctx: Context, w: Workflows, journeysDir: string, templatesDir: string): Map<string, Journey> {
  if (!existsSync(journeysDir)) return new Map();
  try {
    const tags = knownTagsOf(w);
    const loaded = loadJourneysFromDir(journeysDir, templatesDir, { webhookTargets: w.webhookTargets, ...(tags !== undefined && { tags }), topics: knownTopicsOf(w) });
    return new Map(loaded.journeys.map(({ journey }) => [journey.id, journey]));
  } catch (error) {
    if (error instanceof JourneyError) throw printFailure(ctx, w, error.errors);
    throw error;
  }
}

/** Write the files under `path` at `commit` into `into` (nothing when the ref has no such folder). */
function extract(top: string, commit: string, path: string, into: string): void {
  mkdirSync(into, { recursive: true });
  const names = git(top, ['ls-tree', '-r', '-z', '--name-only', commit, '--', path]).toString().split('\0').filter(Boolean);
  for (const name of names) {
    const file = join(into, relative(path, name));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, git(top, ['show', `${commit}:${name}`]));
  }
}

interface Running {
  engine: string;
  /** Per journey: the running version and the runs at each step asked about (undefined: not a step of the running journey). */
  journeys: Map<string, { version?: number; at: Map<string, number | undefined> }>;
}

/** The runs waiting now at each step a plan removes or changes (every step of a removed journey), from the engine. */
async function runningAt(ctx: Context, engine: URL, plans: readonly JourneyPlan[]): Promise<Running> {
  const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, engine), { signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      ctx.err(`could not reach the engine at ${engine.origin} (${(error as Error).message}). Is it running? Start it with \`npm start\`.`);
      throw new UsageError(`--engine: no engine answers at ${engine.origin}`, 'plan');
    }
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const listed = (await get('v1/journeys')).body.journeys as Array<{ id: string; version: number }> | undefined;
  const versions = new Map((listed ?? []).map((j) => [j.id, j.version]));
  const journeys: Running['journeys'] = new Map();
  for (const plan of plans) {
    const steps = [...plan.steps.removed, ...plan.steps.changed];
    if (plan.change === 'added' || steps.length === 0) continue;
    const at = new Map<string, number | undefined>();
    for (const step of steps) {
      let count = 0;
      let cursor: string | undefined;
      do {
        const page = await get(`v1/journeys/${encodeURIComponent(plan.id)}/runs?step=${encodeURIComponent(step)}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        if (page.status !== 200) {
          count = -1;
          break;
        }
        count += (page.body.runs as unknown[]).length;
        cursor = page.body.next as string | undefined;
      } while (cursor);
      at.set(step, count < 0 ? undefined : count);
    }
    journeys.set(plan.id, { ...(versions.has(plan.id) && { version: versions.get(plan.id)! }), at });
  }
  return { engine: engine.origin, journeys };
}

function describe(plan: JourneyPlan, running: Running | undefined): string[] {
  if (plan.change === 'added') return [`+ ${plan.id} v${plan.to}: new, ${plural(plan.steps.added.length, 'step')}`];
  const lines = plan.change === 'removed' ? [`- ${plan.id} v${plan.from}: removed (new customers no longer enter)`] : [`~ ${plan.id} v${plan.from}${plan.to !== plan.from ? ` -> v${plan.to}` : ''}`];
  const { added, removed, changed } = plan.steps;
  if (plan.change === 'changed') {
    const parts = [...added.map((s) => `+ ${s}`), ...removed.map((s) => `- ${s}`), ...changed.map((s) => `~ ${s}`)];
    if (parts.length > 0) lines.push(`    steps: ${parts.join(', ')}`);
    if (plan.settings.length > 0) lines.push(`    changed: ${plan.settings.join(', ')}`);
    if (plan.templates.length > 0) lines.push(`    templates changed: ${plan.templates.join(', ')} (new runs use the new files; runs in flight keep theirs)`);
    if (plan.versionNotBumped) lines.push(`    warning: its steps changed but its version (${plan.from}) did not: bump it, so runs can be told apart by version`);
  }
  const here = running?.journeys.get(plan.id);
  if (here) {
    const counts = [...here.at].map(([step, n]) => (n === undefined ? `${step}: not a step of the running journey` : `${n} at ${step}${removed.includes(step) ? ' (removed)' : ' (changed)'}`));
    const total = [...here.at.values()].reduce<number>((a, n) => a + (n ?? 0), 0);
    lines.push(`    running now: ${counts.join(', ')}`);
    if (total > 0) lines.push(`    ${plural(total, 'run')} there finish on the definition they started with${here.version !== undefined ? ` (v${here.version})` : ''}; new runs take the new one`);
  }
  return lines;
}
