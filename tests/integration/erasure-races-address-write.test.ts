/**
 * The erasure races of an address write (`erasure-races-address-write.suite.ts`) over an email address.
 */
import { erasureRacesAddressWrite } from './erasure-races-address-write.suite';

erasureRacesAddressWrite('email', (person) => `${person}@example.com`);
