/**
 * A throwaway PostgreSQL 15 (Debian's /usr/lib/postgresql/15/bin) on
 * 127.0.0.1 with a free port, its data in a temp dir, trust auth for the
 * `postgres` user. PostgreSQL refuses to run as root, so when the tests run
 * as root, initdb and postgres run as the `postgres` system user (spawn's
 * uid/gid — what runuser would do, without an extra process in between).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const BIN = '/usr/lib/postgresql/15/bin';

export interface RunningPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function ids(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(
    execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()
  );
  const gid = Number(
    execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()
  );
  return { uid, gid };
}

async function waitReady(
  url: string,
  child: ChildProcess,
  log: () => string
): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`postgres exited: ${log()}`);
    }
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline)
        throw new Error(`postgres not ready: ${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startPostgres(
  opts: { fsync?: boolean } = {}
): Promise<RunningPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'signet-pg-'));
  const user = ids();
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const spawnOpts = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  execFileSync(
    join(BIN, 'initdb'),
    ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'],
    { ...spawnOpts, stdio: 'pipe', cwd: dir }
  );
  const port = await freePort();
  const child = spawn(
    join(BIN, 'postgres'),
    [
      '-D',
      data,
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      `fsync=${opts.fsync === false ? 'off' : 'on'}`,
      '-c',
      'max_connections=200',
    ],
    { ...spawnOpts, stdio: ['ignore', 'ignore', 'pipe'], cwd: dir }
  );
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    log = (log + d).slice(-10_000);
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitReady(url, child, () => log);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    port,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT'); // fast shutdown
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
