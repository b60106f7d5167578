import { awsIngestDeps } from './aws';
import { createIngestHandler } from './lambda';

/** Lambda entry point of `POST /v1/events` and the Segment endpoints (HTTP API, payload v2). */
export const handler = createIngestHandler(awsIngestDeps());
