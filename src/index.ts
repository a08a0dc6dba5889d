// Public API: re-exports only.
export * from './errors.js';
