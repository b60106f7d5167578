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
