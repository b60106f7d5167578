import { mapLimit, type EventProblem, type NormalisedEvent } from '../../shared';

/** Port: where a customer id's history is now, following the joins of earlier aliases (ProfileStore.resolve). */
export interface IdentityResolver {
  /** The ids from `id` along its joins, `id` first, the customer holding its history now last. */
  resolve(id: string): Promise<{ chain: string[] }>;
}

/**
 * The problems of the alias events among `events`: an id aliased to itself, and (with a resolver) an
 * alias that would close a cycle — `previousId` already holds `userId`'s history (userId was joined
 * into it, directly or along a chain), so joining previousId into userId would make each the other's.
 * A repeat of an alias already applied is no cycle (userId holds previousId's history) and passes.
 */
export async function aliasProblems(resolver: IdentityResolver | undefined, events: ReadonlyArray<{ index: number; event: NormalisedEvent }>): Promise<EventProblem[]> {
  const aliases = events.filter(({ event }) => event.type === 'alias' && event.previousId !== undefined && event.userId !== undefined);
  const problems = await mapLimit(aliases, 16, async ({ index, event }): Promise<EventProblem | undefined> => {
    const previousId = event.previousId!;
    const userId = event.userId!;
    if (previousId === userId) return { index, path: '$.previousId', message: `alias: previousId must differ from userId (both ${JSON.stringify(userId)})` };
    if (!resolver) return undefined;
    const { chain } = await resolver.resolve(userId);
    const at = chain.indexOf(previousId, 1);
    if (at < 0) return undefined;
    const path = chain.slice(0, at + 1).map((id) => JSON.stringify(id)).join(' → ');
    return {
      index,
      path: '$.previousId',
      message: `alias cycle: ${JSON.stringify(userId)} was already joined into ${JSON.stringify(previousId)} (${path}); joining ${JSON.stringify(previousId)} into ${JSON.stringify(userId)} would make each the other's. They are one customer: send events under either id`,
    };
  });
  return problems.filter((p): p is EventProblem => p !== undefined);
}
