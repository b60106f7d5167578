import { awsBroadcastApi } from './aws';
import { createBroadcastApiHandler } from './lambda';

/** Lambda entry point: POST /v1/broadcasts, GET and DELETE /v1/broadcasts/{id} (the IAM-authorised customer API). */
export const handler = createBroadcastApiHandler(awsBroadcastApi());
