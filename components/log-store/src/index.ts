export * from './config.js';
export * from './log-store.js';
