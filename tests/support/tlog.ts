/**
 * Starts OUR log server (`signet tlog serve`, the compiled CLI) as a child
 * process on 127.0.0.1 with a free port and a temporary database, for tests
 * that need a real Rekor-compatible log over HTTP.
 *
 *   const log = await startLogServer();
 *   … POST `${log.url}/api/v1/log/entries` …
 *   await log.stop();
 *
 * `backend: 'postgres'` starts a throwaway PostgreSQL (tests/support/
 * postgres.ts) unless `postgresUrl` is given. `dataDir` reuses a directory
 * (database + key) so a test can restart a log after stop() or kill9().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './paths.js';

export interface LogServerOptions {
  readonly backend?: 'sqlite' | 'postgres';
  /** Reuse this directory (signet-tlog.db + signet-tlog.key); kept on stop(). */
  readonly dataDir?: string;
  /** PostgreSQL URL to use instead of starting one (backend 'postgres'). */
  readonly postgresUrl?: string;
  readonly maxBodyBytes?: number;
  /** Checkpoint signer name; default `127.0.0.1` (a substring of the URL). */
  readonly hostname?: string;
  /** `--verify-workers` (default: the server's own default). */
  readonly verifyWorkers?: number;
}

export interface RunningLogServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** The log's public key (PKIX PEM), as GET /api/v1/log/publicKey serves it. */
  readonly publicKeyPem: string;
  readonly dataDir: string;
  /** PostgreSQL URL when backend is 'postgres'. */
  readonly postgresUrl?: string;
  readonly pid: number;
  /** SIGTERM, wait for exit; removes temp dirs this helper created. */
  stop(): Promise<void>;
  /** SIGKILL (crash), wait for exit; keeps dataDir and PostgreSQL for a restart (stop() afterwards releases them). */
  kill9(): Promise<void>;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startLogServer(
  opts: LogServerOptions = {}
): Promise<RunningLogServer> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'signet-tlog-'));
  let pgUrl = opts.postgresUrl;
  let stopPg: (() => Promise<void>) | undefined;
  if (opts.backend === 'postgres' && pgUrl === undefined) {
    const { startPostgres } = await import('./postgres.js');
    const pg = await startPostgres();
    pgUrl = pg.url;
    stopPg = () => pg.stop();
  }
  const args = [
    cliPath,
    'tlog',
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--key',
    join(dataDir, 'signet-tlog.key'),
    '--hostname',
    opts.hostname ?? '127.0.0.1',
  ];
  if (opts.backend === 'postgres') {
    args.push('--postgres', pgUrl as string);
  } else {
    args.push('--db', join(dataDir, 'signet-tlog.db'));
  }
  if (opts.verifyWorkers !== undefined) {
    args.push('--verify-workers', String(opts.verifyWorkers));
  }
  if (opts.maxBodyBytes !== undefined) {
    args.push('--max-body-bytes', String(opts.maxBodyBytes));
  }
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`log server did not start in time: ${stderr}`));
    }, 20_000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`log server exited with ${String(code)}: ${stderr}`));
    });
  });
  const cleanup = async (): Promise<void> => {
    if (stopPg !== undefined) await stopPg();
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  let publicKeyPem: string;
  try {
    const res = await fetch(`${url}/api/v1/log/publicKey`);
    publicKeyPem = await res.text();
    if (res.status !== 200) throw new Error(`publicKey: ${res.status}`);
  } catch (e) {
    child.kill('SIGKILL');
    await waitExit(child);
    await cleanup();
    throw e;
  }
  return {
    url,
    publicKeyPem,
    dataDir,
    ...(pgUrl === undefined ? {} : { postgresUrl: pgUrl }),
    pid: child.pid as number,
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child);
      await cleanup();
    },
    async kill9() {
      child.kill('SIGKILL');
      await waitExit(child);
    },
  };
}
