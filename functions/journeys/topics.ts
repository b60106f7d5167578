import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTopicsOrThrow, NO_TOPICS, TOPICS_FILE, type Topics } from '../../shared';

/**
 * Load `<dir>/topics.yaml` once (start; bundled under ./config for the ingest in AWS). Without the file, no
 * topics are declared: every `topic:` is refused and messages are gated by their channel alone. A broken file
 * throws `TopicsFileError` with every problem as `file:line:col`.
 */
export function loadTopicsFile(dir: string): Topics {
  const file = join(dir, TOPICS_FILE);
  if (!existsSync(file)) return NO_TOPICS;
  return loadTopicsOrThrow(readFileSync(file, 'utf8'), file);
}
