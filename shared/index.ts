export * from './config/env';
export * from './contract';
export * from './errors';
export * from './ports';
export * from './pattern';
export * from './bus';
export * from './profile';
export * from './templates';
