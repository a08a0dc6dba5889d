import type { Command } from 'commander';
import { registerTlogServe } from './tlog-serve.js';
import { registerTlogClient } from './tlog-client.js';

/**
 * `signet tlog …`: the transparency log's client commands and its server.
 * Each subcommand module adds itself here with one line.
 */
export function registerTlog(program: Command): void {
  const tlog = program
    .command('tlog')
    .description(
      'transparency log: run a Rekor-compatible log, upload, fetch and verify entries'
    );
  void tlog;
  registerTlogServe(tlog);
  registerTlogClient(tlog);
}
