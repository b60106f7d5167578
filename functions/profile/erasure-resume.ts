import type { ProfileStore } from './store';

/** What a resumed erasure does around its deletes, as the DELETE that began it would. */
export interface ErasureResumeHooks {
  /** Stop the running journeys of an id (after its tombstone, before the deletes). */
  onErase?: (id: string) => Promise<void>;
  /** Before the erasure is marked complete (the embedded engine redacts its logs). */
  beforeComplete?: (ids: string[]) => Promise<void>;
}

/**
 * Finish the erasures of these ids that were interrupted (a tombstone not completed: a failed DELETE nobody retried,
 * the profile consumer's erasure of a visitor whose event was dead-lettered): each is resumed from its start
 * (`resumeFrom`), every id it had reached with it. Ids not erased, or erased completely, are left alone.
 * Returns the ids whose erasure was resumed; throws if one could not be finished (it stays incomplete).
 */
export async function resumeErasures(store: ProfileStore, clock: { now(): Date }, ids: readonly string[], hooks: ErasureResumeHooks = {}): Promise<string[]> {
  const resumed: string[] = [];
  const done = new Set<string>();
  for (const id of ids) {
    if (done.has(id)) continue;
    const tombstone = await store.tombstone(id, clock.now());
    if (tombstone === undefined || tombstone.completedAt !== undefined) continue;
    const { ids: erased } = await store.erase(id, clock, {
      resumeFrom: tombstone.erasedAt,
      ...(tombstone.lifetimeDays !== undefined && { tombstoneDays: tombstone.lifetimeDays }),
      ...(hooks.onErase && {
        between: async (reached: string[]) => {
          for (const x of reached) await hooks.onErase!(x);
        },
      }),
      ...(hooks.beforeComplete && { beforeComplete: hooks.beforeComplete }),
    });
    erased.forEach((x) => done.add(x));
    resumed.push(id);
  }
  return resumed;
}

/**
 * How long an erasure may run before the sweep takes it for interrupted: longer than any eraser lives (the customer
 * API's 30 s, the profile consumer's 15 minutes with its retries' backoff in between).
 */
export const ERASURE_RESUME_GRACE_MS = 3_600_000;

/**
 * Finish every erasure begun before `before` that has not completed (`ProfileStore.interruptedErasures`), from its start
 * and its root, as a retried DELETE would: one interrupted before its first tombstone too (nothing else would ever
 * finish it: its progress items name the customer's ids in clear), and one of a new life interrupted before its own
 * tombstone (the complete one is the earlier erasure's). One whose root's tombstone is complete and as recent is left alone. Returns how many were finished and how many failed (they stay, for the next sweep).
 */
export async function resumeInterruptedErasures(
  store: ProfileStore,
  clock: { now(): Date },
  before: Date,
  hooks: ErasureResumeHooks = {},
): Promise<{ resumed: number; failed: number }> {
  let resumed = 0;
  let failed = 0;
  for (const { id, erasedAt } of await store.interruptedErasures(before)) {
    try {
      const tombstone = await store.tombstone(id, clock.now());
      // Complete and as recent as this entry: done, but for the entry itself (its delete, after the completion, failed):
      // deleted now. A complete tombstone older than the entry is an earlier erasure's: this one (of a new life) was
      // interrupted before its own tombstone.
      if (tombstone?.completedAt !== undefined && tombstone.erasedAt >= erasedAt) {
        await store.forgetCompletedErasure(id);
        continue;
      }
      const current = tombstone?.completedAt === undefined ? tombstone : undefined;
      await store.erase(id, clock, {
        resumeFrom: current?.erasedAt ?? erasedAt,
        ...(tombstone?.lifetimeDays !== undefined && { tombstoneDays: tombstone.lifetimeDays }),
        ...(hooks.onErase && {
          between: async (reached: string[]) => {
            for (const x of reached) await hooks.onErase!(x);
          },
        }),
        ...(hooks.beforeComplete && { beforeComplete: hooks.beforeComplete }),
      });
      resumed++;
    } catch {
      // Not logged: the id and the error (which may name it) are an erased customer's. The next sweep tries again.
      failed++;
    }
  }
  return { resumed, failed };
}
