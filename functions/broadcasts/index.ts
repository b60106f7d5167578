export { BroadcastStore, type BroadcastRecord, type BroadcastStatus, type DeferredRecipient } from './store';
export {
  createBroadcastApi,
  createBroadcastService,
  broadcastExecutionName,
  broadcastMessageKey,
  pacing,
  view as broadcastView,
  GENERATION_PAGES,
  PAGE_CONCURRENCY,
  PAGE_SIZE,
  PAGE_SIZE_MAX,
  type BroadcastApi,
  type BroadcastApiDeps,
  type BroadcastDeps,
  type BroadcastExecutions,
  type BroadcastService,
  type PageState,
} from './service';
export { createBroadcastApiHandler, createBroadcastPageHandler, BROADCASTS_PATH, type BroadcastHandlerOptions } from './lambda';
export { BroadcastLanes, type LaneGrant } from './lanes';
