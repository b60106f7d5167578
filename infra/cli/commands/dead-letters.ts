/** `rapport dead-letters [list|redrive]`: a running engine's dead letters, listed or redriven. */
import type { Parsed } from '../commands';
import { call, engineBase, Exit } from '../engine-client';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';

interface Letter {
  id: string;
  rule?: string;
  functionName: string;
  /** `detail` is null while the engine's erasure check of the letter is owed (`unchecked`). */
  event: { 'detail-type': string; detail: { userId?: string; anonymousId?: string; messageId?: string } | null };
  error: string;
  unchecked?: true;
  attempts: number;
  at: string;
}

interface RedriveAnswer {
  redriven: Array<{ id: string; outcome: 'delivered' | 'dead-lettered again'; newId?: string }>;
  notFound: string[];
  noRule: string[];
}

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  const action = positionals[0] ?? 'list';
  if (action !== 'list' && action !== 'redrive') throw new UsageError(`unknown action ${JSON.stringify(action)}: expected list or redrive`, 'dead-letters');
  const base = engineBase(values, ctx, 'dead-letters');
  const ids = typeof values.ids === 'string' ? values.ids.split(',').map((s) => s.trim()) : undefined;
  if (ids && (action !== 'redrive' || ids.some((id) => id === ''))) {
    throw new UsageError(action !== 'redrive' ? '--ids goes with redrive' : '--ids: expected dead-letter ids separated by commas, e.g. dl-1,dl-4', 'dead-letters');
  }

  const answer = await call(ctx, action === 'list' ? new URL('v1/admin/dead-letters', base) : new URL('v1/admin/dead-letters/redrive', base), action === 'redrive' ? JSON.stringify(ids ? { ids } : {}) : undefined);
  if (answer instanceof Exit) return answer.code;

  if (action === 'list') {
    const { deadLetters } = answer as { deadLetters: Letter[] };
    for (const l of deadLetters) {
      const who = l.event.detail?.userId ?? l.event.detail?.anonymousId ?? (l.unchecked ? '(withheld)' : '-');
      ctx.out(`${l.id}  ${l.at}  ${l.rule ?? l.functionName}  ${l.event['detail-type']}  ${who}  ${l.event.detail?.messageId ?? '-'}  after ${l.attempts} attempts: ${l.error}`);
    }
    ctx.out(`${deadLetters.length} dead letter${deadLetters.length === 1 ? '' : 's'}`);
    return EXIT.ok;
  }
  const { redriven, notFound, noRule } = answer as RedriveAnswer;
  for (const r of redriven) ctx.out(r.outcome === 'delivered' ? `${r.id}  delivered` : `${r.id}  dead-lettered again, now ${r.newId}`);
  for (const id of notFound) ctx.err(`${id}: no such dead letter (or it is being redriven)`);
  for (const id of noRule) ctx.err(`${id}: its bus rule no longer exists (journey removed?); left in place`);
  const delivered = redriven.filter((r) => r.outcome === 'delivered').length;
  ctx.out(`${delivered} of ${redriven.length} redriven dead letters delivered`);
  return delivered === redriven.length && notFound.length === 0 && noRule.length === 0 ? EXIT.ok : EXIT.failed;
}

