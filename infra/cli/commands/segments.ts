/** `rapport segments [<id>]`: a running engine's segments with their counts, or one segment's members. */
import type { Parsed } from '../commands';
import { call, engineBase, Exit } from '../engine-client';
import { EXIT, UsageError, type Context, type ExitCode } from '../io';

interface Segment {
  id: string;
  count: number;
}

export async function execute({ values, positionals }: Parsed, ctx: Context): Promise<ExitCode> {
  const base = engineBase(values, ctx, 'segments');
  const id = positionals[0];
  if (id === undefined) {
    const answer = await call(ctx, new URL('v1/segments', base), undefined);
    if (answer instanceof Exit) return answer.code;
    const { segments } = answer as { segments: Segment[] };
    const width = Math.max(...segments.map((s) => s.id.length), 'segment'.length);
    ctx.out(`${'segment'.padEnd(width)}  members`);
    for (const s of segments) ctx.out(`${s.id.padEnd(width)}  ${s.count}`);
    return EXIT.ok;
  }
  const limit = typeof values.limit === 'string' ? Number(values.limit) : 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit: expected a whole number from 1 to 1000, got ${JSON.stringify(values.limit)}`, 'segments');
  const segment = await call(ctx, new URL(`v1/segments/${encodeURIComponent(id)}`, base), undefined);
  if (segment instanceof Exit) return segment.code;
  const { count } = segment as Segment;
  ctx.out(`${id}: ${count} member${count === 1 ? '' : 's'}`);
  if (values.members !== true) return EXIT.ok;
  let cursor: string | null = null;
  let shown = 0;
  do {
    const url = new URL(`v1/segments/${encodeURIComponent(id)}/customers`, base);
    url.searchParams.set('limit', String(Math.min(1000, limit - shown)));
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    const page = await call(ctx, url, undefined);
    if (page instanceof Exit) return page.code;
    const { customers, next } = page as { customers: Array<{ id: string }>; next: string | null };
    for (const c of customers) ctx.out(c.id);
    shown += customers.length;
    cursor = next;
  } while (cursor !== null && shown < limit);
  if (cursor !== null) ctx.out(`... more (raise --limit, at most 1000)`);
  return EXIT.ok;
}
