export * from './clock';
export * from './random';
