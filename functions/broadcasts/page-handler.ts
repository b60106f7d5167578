import { awsBroadcastService } from './aws';
import { createBroadcastPageHandler } from './lambda';

/** Lambda entry point: every Task of the broadcast state machine (one page of recipients through the send gateway). */
export const handler = createBroadcastPageHandler(await awsBroadcastService());
