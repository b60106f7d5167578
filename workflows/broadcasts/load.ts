import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BroadcastFileError, loadBroadcastFile, type Broadcast } from '../../shared/broadcasts';
import type { SourceProblem } from '../../shared/segmentation/errors';

/** Where broadcast files live: `workflows/broadcasts.d/<id>.yaml`. */
export const BROADCASTS_DIR = 'workflows/broadcasts.d';

/**
 * Every broadcast file of `dir` (`<id>.yaml`; a missing folder holds none), checked whole: one file with
 * a problem refuses them all, with `file:line:col` for every problem, as journeys and tags are refused.
 */
export function loadBroadcastsFromDir(dir: string): Broadcast[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort();
  const broadcasts: Broadcast[] = [];
  const errors: SourceProblem[] = [];
  for (const name of files) {
    const file = join(dir, name);
    const result = loadBroadcastFile(readFileSync(file, 'utf8'), file, basename(name).replace(/\.ya?ml$/, ''));
    if (result.ok) broadcasts.push(result.broadcast);
    else errors.push(...result.errors);
  }
  if (errors.length > 0) throw new BroadcastFileError(dir, errors);
  return broadcasts;
}
