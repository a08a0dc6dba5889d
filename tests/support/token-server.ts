/**
 * A small Docker token server (distribution `token.md` / `oauth.md`) for
 * the Bearer-auth variant of the real registry. It issues ES256 JWTs whose
 * `x5c` header carries a self-signed test certificate; the registry trusts
 * that certificate through `auth.token.rootcertbundle`.
 *
 * GET  /token?service=…&scope=…   (Basic credentials or anonymous)
 * POST /token  grant_type=password | refresh_token  (OAuth2 form)
 *
 * Every request is recorded so tests can assert the handshake they caused.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  X509Certificate,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';

const execFileAsync = promisify(execFile);

export interface TokenRequestRecord {
  method: string;
  /** Username from Basic credentials, password grant or refresh token. */
  user: string | undefined;
  grantType: string | undefined;
  service: string | undefined;
  scopes: string[];
  /** True when an Authorization header arrived. */
  hadAuthorization: boolean;
  /** The refresh token presented (POST grant or Basic password), if any. */
  refreshToken?: string;
}

export interface TokenServerOptions {
  /** username → password. */
  users?: Record<string, string>;
  /** Users granted only `pull`, whatever they ask for. */
  readOnlyUsers?: readonly string[];
  /** Anonymous requests get `pull` (default false: anonymous gets nothing). */
  anonymousPull?: boolean;
  /** Refresh tokens accepted by the POST grant: token → username. */
  refreshTokens?: Record<string, string>;
  /** Answer POST with 404 (forces the GET fallback). Default false. */
  disablePost?: boolean;
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number;
  service?: string;
  issuer?: string;
}

export interface TokenServer {
  readonly url: string;
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** Path of the PEM certificate the registry must trust. */
  readonly certPath: string;
  readonly requests: TokenRequestRecord[];
  /** Refresh tokens issued or accepted: token → username. */
  readonly refreshTokens: Map<string, string>;
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Makes a P-256 key and a self-signed certificate for it with openssl. */
async function makeSigningMaterial(
  dir: string
): Promise<{ key: KeyObject; certPath: string; certDer: Buffer }> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  await writeFile(
    keyPath,
    privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    { mode: 0o600 }
  );
  await execFileAsync('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    keyPath,
    '-subj',
    '/CN=signet-test-token-issuer',
    '-days',
    '2',
    '-out',
    certPath,
  ]);
  const pem = await readFile(certPath, 'utf8');
  const certDer = new X509Certificate(pem).raw;
  return {
    key: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })),
    certPath,
    certDer,
  };
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** `repository:org/app:pull,push` → {type, name, actions}; the name may hold ':' (ports). */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 65536) {
        reject(new Error('token request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function startTokenServer(
  opts: TokenServerOptions = {}
): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), 'signet-token-'));
  const { key, certPath, certDer } = await makeSigningMaterial(dir);
  const service = opts.service ?? 'signet-test-registry';
  const issuer = opts.issuer ?? 'signet-test-issuer';
  const users = opts.users ?? {};
  const readOnly = new Set(opts.readOnlyUsers ?? []);
  const expiresIn = opts.expiresIn ?? 300;
  const refreshTokens = new Map<string, string>(
    Object.entries(opts.refreshTokens ?? {})
  );
  const requests: TokenRequestRecord[] = [];

  function grant(user: string | undefined, scopes: string[]): Access[] {
    const out: Access[] = [];
    for (const s of scopes) {
      const a = parseScope(s);
      if (!a) continue;
      let actions: string[];
      if (user === undefined) {
        actions = opts.anonymousPull === true ? ['pull'] : [];
      } else if (readOnly.has(user)) {
        actions = a.actions.filter((x) => x === 'pull');
      } else {
        actions = a.actions;
      }
      if (actions.length > 0) out.push({ ...a, actions });
    }
    return out;
  }

  function issue(user: string | undefined, access: Access[]): string {
    const now = Math.floor(Date.now() / 1000);
    const header = {
      typ: 'JWT',
      alg: 'ES256',
      x5c: [certDer.toString('base64')],
    };
    const claims = {
      iss: issuer,
      sub: user ?? '',
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign('sha256', Buffer.from(input), {
      key,
      dsaEncoding: 'ieee-p1363',
    });
    return `${input}.${b64url(sig)}`;
  }

  function basicUser(
    req: IncomingMessage
  ):
    | { ok: true; user: string | undefined; refreshToken?: string }
    | { ok: false } {
    const h = req.headers.authorization;
    if (h === undefined) return { ok: true, user: undefined };
    const m = /^Basic\s+(.+)$/i.exec(h);
    if (!m?.[1]) return { ok: false };
    const pair = Buffer.from(m[1], 'base64').toString('utf8');
    const i = pair.indexOf(':');
    if (i < 0) return { ok: false };
    const u = pair.slice(0, i);
    const p = pair.slice(i + 1);
    if (users[u] !== undefined && users[u] === p) return { ok: true, user: u };
    // A refresh token sent as a Basic password (GET fallback for identity tokens).
    if (refreshTokens.has(p))
      return { ok: true, user: refreshTokens.get(p), refreshToken: p };
    return { ok: false };
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token') {
      sendJson(res, 404, { details: 'not found' });
      return;
    }
    if (req.method === 'GET') {
      const auth = basicUser(req);
      const scopes = url.searchParams
        .getAll('scope')
        .flatMap((s) => s.split(' '))
        .filter((s) => s !== '');
      const rec: TokenRequestRecord = {
        method: 'GET',
        user: auth.ok ? auth.user : undefined,
        grantType: undefined,
        service: url.searchParams.get('service') ?? undefined,
        scopes,
        hadAuthorization: req.headers.authorization !== undefined,
      };
      if (auth.ok && auth.refreshToken !== undefined)
        rec.refreshToken = auth.refreshToken;
      requests.push(rec);
      if (!auth.ok) {
        sendJson(res, 401, { details: 'incorrect username or password' });
        return;
      }
      const token = issue(auth.user, grant(auth.user, scopes));
      sendJson(res, 200, {
        token,
        access_token: token,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      });
      return;
    }
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      const scopes = (form.get('scope') ?? '')
        .split(' ')
        .filter((s) => s !== '');
      const grantType = form.get('grant_type') ?? undefined;
      let user: string | undefined;
      if (grantType === 'refresh_token') {
        user = refreshTokens.get(form.get('refresh_token') ?? '');
      } else if (grantType === 'password') {
        const u = form.get('username') ?? '';
        if (users[u] !== undefined && users[u] === form.get('password'))
          user = u;
      }
      const rec: TokenRequestRecord = {
        method: 'POST',
        user,
        grantType,
        service: form.get('service') ?? undefined,
        scopes,
        hadAuthorization: req.headers.authorization !== undefined,
      };
      const rt = form.get('refresh_token');
      if (rt !== null) rec.refreshToken = rt;
      requests.push(rec);
      if (opts.disablePost === true) {
        sendJson(res, 404, { details: 'POST not supported' });
        return;
      }
      if (user === undefined) {
        sendJson(res, 401, { error: 'invalid_grant' });
        return;
      }
      const token = issue(user, grant(user, scopes));
      const body: Record<string, unknown> = {
        access_token: token,
        expires_in: expiresIn,
        scope: scopes.join(' '),
      };
      if (
        grantType === 'refresh_token' ||
        form.get('access_type') === 'offline'
      ) {
        // Rotate: the old refresh token stays valid here, the new one is returned.
        const next = randomBytes(16).toString('hex');
        refreshTokens.set(next, user);
        body['refresh_token'] = next;
      }
      sendJson(res, 200, body);
      return;
    }
    sendJson(res, 405, { details: 'method not allowed' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { details: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    realm: `${url}/token`,
    service,
    issuer,
    certPath,
    requests,
    refreshTokens,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
