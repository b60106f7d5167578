export { broadcastDefinition, BROADCAST_STATE_MACHINE, PAGE_RETRY } from './asl';
export { BROADCASTS_DIR, loadBroadcastsFromDir } from './load';
