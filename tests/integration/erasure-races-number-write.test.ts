/**
 * The erasure races of an address write (`erasure-races-address-write.suite.ts`) over a phone number: a STOP denies
 * the number, and a record listed under it while the account is erased keeps the denial, as an email address does.
 */
import { createHash } from 'node:crypto';
import { erasureRacesAddressWrite } from './erasure-races-address-write.suite';

/** A UK drama number (+44 7700 9xxxxx) of the person's own. */
const numberOf = (person: string) => `+4477009${(parseInt(createHash('sha256').update(person).digest('hex').slice(0, 8), 16) % 100_000).toString().padStart(5, '0')}`;

erasureRacesAddressWrite('sms', numberOf);
