import { systemClock } from '../../shared';
import { awsProfileStore } from './aws';
import { createCustomerApiHandler } from './lambda';

/** Lambda entry point: the IAM-authorised customer admin API (GET/DELETE /v1/customers/{id}...). */
export const handler = createCustomerApiHandler({ store: awsProfileStore(), clock: systemClock });
