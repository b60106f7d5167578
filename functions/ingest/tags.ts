import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SenderTagPolicy } from '../../shared';
import { loadTagRules, SEGMENTATION_FILES, TagRulesError } from '../../shared/segmentation';

/** The sender tag policy from tag rule names and declared manual tags: a name that is both is computed (senders may not set it). */
export function senderTagPolicy(config: { rules: readonly string[]; manual: readonly string[] }): SenderTagPolicy {
  const computed = new Set(config.rules);
  return { computed, manual: new Set(config.manual.filter((name) => !computed.has(name))) };
}

/**
 * Load which tags senders may set from `<dir>/tags.yaml` once (cold start): the
 * same file the profile functions read (bundled under ./config in AWS). A broken
 * file throws with every problem as `file:line:col  message`.
 */
export function loadSenderTagPolicy(dir: string): SenderTagPolicy {
  const file = join(dir, SEGMENTATION_FILES.tags);
  const result = loadTagRules(readFileSync(file, 'utf8'), file);
  if (!result.ok) throw new TagRulesError(file, result.errors);
  return senderTagPolicy({ rules: result.rules.map((r) => r.name), manual: result.manualTags.map((m) => m.name) });
}
