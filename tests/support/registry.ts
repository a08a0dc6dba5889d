/**
 * Starts the real CNCF distribution registry (Debian `docker-registry`,
 * 2.8.2) on 127.0.0.1 with a free port and a throwaway storage directory,
 * deletes enabled (spec/interop-peers.md §5.1). Variants:
 *
 * - auth 'basic': htpasswd with bcrypt hashes (made with the system
 *   crypt(3) through /usr/bin/python3, cost 4 to stay fast);
 * - auth 'token': Bearer tokens from tests/support/token-server.ts, whose
 *   certificate the registry trusts through `auth.token.rootcertbundle`;
 * - tls: a self-signed certificate for 127.0.0.1/localhost (made with
 *   openssl); `caPem` is what a client must trust.
 *
 * stop() kills the process it started by PID and removes its directory;
 * anything still running when the test process exits is killed too.
 */
import { spawn, execFile, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTokenServer } from './token-server.js';
import type { TokenServer, TokenServerOptions } from './token-server.js';

const execFileAsync = promisify(execFile);

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RunningRegistry {
  /** '127.0.0.1:PORT' — the registry part of references. */
  host: string;
  port: number;
  /** 'http://127.0.0.1:PORT' (https for the TLS variant). */
  url: string;
  storageDir: string;
  pid: number;
  /** Users accepted by the basic and token variants (username → password). */
  users: Record<string, string>;
  /** The token server of the 'token' variant. */
  tokenServer?: TokenServer;
  /** PEM of the self-signed certificate of the TLS variant. */
  caPem?: string;
  /** The registry's log so far (stdout + stderr), for debugging failures. */
  logs(): string;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  auth?: 'none' | 'basic' | 'token';
  /** Default { signet: 'signet-password' }. */
  users?: Record<string, string>;
  /** Serve HTTPS with a self-signed certificate. */
  tls?: boolean;
  /** Extra options for the token server ('token' variant). */
  token?: Omit<TokenServerOptions, 'users'>;
}

export const DEFAULT_USERS: Readonly<Record<string, string>> = {
  signet: 'signet-password',
};

const running = new Map<number, { child: ChildProcess; dir: string }>();
let exitHookInstalled = false;

function killAll(): void {
  for (const [pid, { dir }] of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
  running.clear();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Registries left behind by a test process that died without cleaning up
 * (SIGKILL, a crash): each temp dir records its owner and registry PIDs;
 * when the owner is gone, the registry is killed by PID (after checking
 * /proc/<pid>/cmdline names docker-registry and this directory) and the
 * directory removed.
 */
function reapOrphans(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((n) =>
      n.startsWith('signet-registry-')
    );
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(tmpdir(), name);
    let owner: { ownerPid: number; registryPid: number };
    try {
      owner = JSON.parse(
        readFileSync(join(dir, 'owner.json'), 'utf8')
      ) as typeof owner;
    } catch {
      continue; // not ours, or still starting
    }
    if (alive(owner.ownerPid)) continue;
    try {
      const cmdline = readFileSync(
        `/proc/${owner.registryPid}/cmdline`,
        'utf8'
      );
      if (cmdline.includes('docker-registry') && cmdline.includes(dir)) {
        process.kill(owner.registryPid, 'SIGKILL');
      }
    } catch {
      // registry already gone
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  reapOrphans();
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.once(sig, onSignal);
  }
}

/** A port nothing listens on right now (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** bcrypt hash through the system crypt(3) (libxcrypt); Go's bcrypt accepts $2b$. */
function bcryptHash(password: string): string {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-W',
      'ignore',
      '-c',
      'import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))',
    ],
    { input: password, encoding: 'utf8' }
  ).trim();
  if (!out.startsWith('$2')) throw new Error('bcrypt hashing failed');
  return out;
}

async function makeTlsCert(
  dir: string
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'tls-cert.pem');
  const key = join(dir, 'tls-key.pem');
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-days',
    '2',
  ]);
  return { cert, key };
}

/** True when something answers GET /v2/ (any HTTP status). */
function probe(url: string, caPem: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const target = new URL('/v2/', url);
    const req =
      target.protocol === 'https:'
        ? httpsRequest(target, { method: 'GET', ca: caPem, timeout: 1000 })
        : httpRequest(target, { method: 'GET', timeout: 1000 });
    req.on('response', (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

export async function startRegistry(
  opts: StartRegistryOptions = {}
): Promise<RunningRegistry> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'signet-registry-'));
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir);
  const users = opts.users ?? { ...DEFAULT_USERS };
  const auth = opts.auth ?? 'none';
  let tokenServer: TokenServer | undefined;
  try {
    const lines = [
      'version: 0.1',
      'log:',
      '  level: info',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${yamlString(storageDir)}`,
      '  delete:',
      '    enabled: true',
      '  cache:',
      '    blobdescriptor: inmemory',
      'http:',
      '  addr: 127.0.0.1:0', // replaced by REGISTRY_HTTP_ADDR
      '  secret: signet-test-secret',
      '  headers:',
      '    X-Content-Type-Options: [nosniff]',
    ];
    let caPem: string | undefined;
    if (opts.tls === true) {
      const { cert, key } = await makeTlsCert(dir);
      caPem = await readFile(cert, 'utf8');
      lines.push(
        '  tls:',
        `    certificate: ${yamlString(cert)}`,
        `    key: ${yamlString(key)}`
      );
    }
    if (auth === 'basic') {
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(
        htpasswd,
        Object.entries(users)
          .map(([u, p]) => `${u}:${bcryptHash(p)}\n`)
          .join('')
      );
      lines.push(
        'auth:',
        '  htpasswd:',
        '    realm: signet-test',
        `    path: ${yamlString(htpasswd)}`
      );
    } else if (auth === 'token') {
      tokenServer = await startTokenServer({ ...opts.token, users });
      lines.push(
        'auth:',
        '  token:',
        `    realm: ${yamlString(tokenServer.realm)}`,
        `    service: ${yamlString(tokenServer.service)}`,
        `    issuer: ${yamlString(tokenServer.issuer)}`,
        `    rootcertbundle: ${yamlString(tokenServer.certPath)}`
      );
    }
    const config = join(dir, 'config.yml');
    await writeFile(config, `${lines.join('\n')}\n`);

    // The port may be taken between freePort() and the registry's bind:
    // try a few ports before giving up.
    let lastLog = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const scheme = opts.tls === true ? 'https' : 'http';
      const url = `${scheme}://127.0.0.1:${port}`;
      if (await probe(url, caPem)) continue; // something answers already
      const child = spawn(REGISTRY_BINARY, ['serve', config], {
        env: {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          REGISTRY_HTTP_ADDR: `127.0.0.1:${port}`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      const keep = (c: Buffer): void => {
        log += c.toString('utf8');
        if (log.length > 200_000) log = log.slice(-100_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const exited = new Promise<void>((resolve) =>
        child.once('exit', () => resolve())
      );
      let ok = false;
      let dead = false;
      void exited.then(() => {
        dead = true;
      });
      for (let i = 0; i < 100 && !dead; i++) {
        if (await probe(url, caPem)) {
          ok = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      if (!ok) {
        lastLog = log;
        if (!dead) child.kill('SIGKILL');
        await exited;
        continue;
      }
      const pid = child.pid;
      if (pid === undefined) throw new Error('docker-registry did not start');
      running.set(pid, { child, dir });
      writeFileSync(
        join(dir, 'owner.json'),
        JSON.stringify({ ownerPid: process.pid, registryPid: pid })
      );
      const ts = tokenServer;
      let stopped = false;
      const result: RunningRegistry = {
        host: `127.0.0.1:${port}`,
        port,
        url,
        storageDir,
        pid,
        users,
        logs: () => log,
        async stop() {
          if (stopped) return;
          stopped = true;
          if (child.exitCode === null && child.signalCode === null) {
            process.kill(pid, 'SIGTERM');
            const timer = setTimeout(() => {
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // gone
              }
            }, 3000);
            await exited;
            clearTimeout(timer);
          }
          running.delete(pid);
          if (ts) await ts.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
      if (ts) result.tokenServer = ts;
      if (caPem !== undefined) result.caPem = caPem;
      return result;
    }
    throw new Error(
      `docker-registry did not become ready: ${lastLog.slice(-2000)}`
    );
  } catch (err) {
    if (tokenServer) await tokenServer.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
