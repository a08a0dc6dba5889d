import { availableParallelism, hostname as osHostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { loadOrCreateLogKey } from '../../tlog/server/keys.js';
import { TransparencyLog } from '../../tlog/server/log.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  listenLogServer,
} from '../../tlog/server/http.js';
import { PostgresStorage } from '../../tlog/server/postgres.js';
import { SqliteStorage } from '../../tlog/server/sqlite.js';
import type { Storage } from '../../tlog/server/storage.js';

interface ServeOptions {
  listen: string;
  db?: string;
  postgres?: string;
  key?: string;
  maxBodyBytes: string;
  hostname?: string;
  verifyWorkers?: string;
}

/** `host:port`, `[v6]:port` or `:port` (127.0.0.1). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (m === null || port > 65535) {
    throw new UsageError(`--listen ${s}: expected HOST:PORT`);
  }
  return { host: m[1] ?? (m[2] === '' ? '127.0.0.1' : (m[2] as string)), port };
}

function openStorage(o: ServeOptions): Storage {
  if (o.postgres !== undefined) return new PostgresStorage(o.postgres);
  return new SqliteStorage(o.db ?? 'signet-tlog.db');
}

async function serve(o: ServeOptions): Promise<void> {
  if (o.db !== undefined && o.postgres !== undefined) {
    throw new UsageError('give either --db or --postgres, not both');
  }
  const { host, port } = parseListen(o.listen);
  const maxBodyBytes = Number(o.maxBodyBytes);
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1024) {
    throw new UsageError('--max-body-bytes must be an integer ≥ 1024');
  }
  const keyPath =
    o.key ??
    (o.db !== undefined
      ? join(dirname(o.db), 'signet-tlog.key')
      : 'signet-tlog.key');
  const key = loadOrCreateLogKey(keyPath);
  if (key.created) {
    process.stderr.write(`generated log signing key ${keyPath}\n`);
  }
  if (key.looseMode) {
    process.stderr.write(
      `warning: log signing key ${keyPath} is readable by group or others (chmod 600 it)\n`
    );
  }
  const storage = openStorage(o);
  const log = await TransparencyLog.open({
    storage,
    privateKey: key.privateKey,
    hostname: o.hostname ?? osHostname(),
  });
  const verifyWorkers =
    o.verifyWorkers === undefined
      ? Math.max(1, availableParallelism() - 1)
      : Number(o.verifyWorkers);
  if (!Number.isSafeInteger(verifyWorkers) || verifyWorkers < 0) {
    throw new UsageError('--verify-workers must be a non-negative integer');
  }
  const running = await listenLogServer(log, host, port, {
    maxBodyBytes,
    verifyWorkers,
    onError: (e) =>
      process.stderr.write(
        `error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`
      ),
  });
  process.stdout.write(`listening on http://${running.address}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  await log.close();
}

export function registerTlogServe(tlog: Command): void {
  tlog
    .command('serve')
    .description(
      'run a Rekor v1 compatible transparency log (SQLite by default, PostgreSQL with --postgres)'
    )
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:3000')
    .option('--db <file>', 'SQLite database file (default ./signet-tlog.db)')
    .option(
      '--postgres <url>',
      'PostgreSQL connection URL (several servers may share one log)'
    )
    .option(
      '--key <file>',
      'log signing key (PEM); generated with mode 0600 if absent (default signet-tlog.key beside the database)'
    )
    .option(
      '--max-body-bytes <n>',
      'largest accepted request body (413 above)',
      String(DEFAULT_MAX_BODY_BYTES)
    )
    .option(
      '--hostname <name>',
      'checkpoint origin and signer name (default: this host name)'
    )
    .option(
      '--verify-workers <n>',
      'worker threads verifying submitted entries (0 = on the HTTP thread; default: CPUs - 1, at least 1)'
    )
    .action(async (o: ServeOptions) => {
      await serve(o);
    });
}
