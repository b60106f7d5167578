export * from './events';
export * from './known-events';
export * from './normalise';
export * from './entry';
export * from './json-schema';
export * from './limits';
export * from './identity';
