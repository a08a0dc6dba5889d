import type { Command } from 'commander';
import { registerTlog } from './tlog.js';

/**
 * Every command registers itself here, one line each, in the order they
 * appear in `signet --help`.
 */
export function registerCommands(program: Command): void {
  registerTlog(program);
}
