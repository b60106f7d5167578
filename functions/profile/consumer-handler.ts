import { awsProfileDeps } from './aws';
import { createProfileConsumerHandler } from './lambda';

/** Lambda entry point: target of the bus rule `{ "source": ["rapport.ingest"] }`. */
export const handler = createProfileConsumerHandler(awsProfileDeps());
