/**
 * A reverse proxy that sits in front of the REAL CNCF distribution registry
 * (tests/support/registry.ts) and makes it behave, on the wire, like one other
 * registry: its auth flow (Basic, `BASIC`, Bearer with the token service on
 * the registry origin or on another host, anonymous tokens, OAuth2 POST with
 * refresh tokens) and the quirks of spec §4 listed in its QuirkProfile
 * (tests/support/quirk-profiles.ts).
 *
 * The proxy is itself the token service: the real registry runs without auth
 * and only the proxy decides who gets in, exactly as the emulated registry
 * would. Everything the profile does not change is forwarded byte for byte.
 *
 * Loopback only. Three servers may run per proxy:
 *   registry  127.0.0.1:<port>  the emulated registry
 *   token     127.0.0.2:<port>  token service on "another host" (Docker Hub, GitLab, …)
 *   storage   127.0.0.2:<port>  object storage for blob redirects (S3/GCS stand-in)
 * 127.0.0.2 is a different host from 127.0.0.1 to any HTTP client, so the
 * cross-host credential rules (spec §5.3) are really exercised; the storage
 * server records every Authorization header it sees and refuses it the way S3
 * does ("Only one auth mechanism allowed").
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProfileLogin, QuirkProfile } from './quirk-profiles.js';
import { startRegistry } from './registry.js';
import type { RunningRegistry } from './registry.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import type {
  Credential,
  CredentialProvider,
} from '../../src/oci/credentials.js';

export interface ProxyRequestRecord {
  readonly server: 'registry' | 'token' | 'storage';
  readonly method: string;
  /** Path and query as received. */
  readonly url: string;
  /** The Authorization scheme sent ('Basic', 'Bearer'), if any. */
  readonly authorization: string | undefined;
  readonly headers: IncomingHttpHeaders;
  status: number;
}

export interface TokenRequestRecord {
  readonly method: 'GET' | 'POST';
  readonly grantType: string | undefined;
  readonly anonymous: boolean;
  readonly scopes: readonly string[];
  readonly service: string | undefined;
}

export interface RunningQuirkProxy {
  /** '127.0.0.1:PORT' — the registry host to use in references. */
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly profile: QuirkProfile;
  /** The token realm URL, when the profile uses Bearer auth. */
  readonly realm: string | undefined;
  /** Origin of the object-storage stand-in, when blobs redirect. */
  readonly storageOrigin: string | undefined;
  /** Every request any of the proxy's servers received, in order. */
  readonly requests: ProxyRequestRecord[];
  readonly tokenRequests: TokenRequestRecord[];
  /** How many 429 answers the rate limiter gave. */
  readonly rateLimited: () => number;
  stop(): Promise<void>;
}

export interface StartQuirkProxyOptions {
  /** Base URL of the real registry, e.g. 'http://127.0.0.1:5000'. */
  readonly upstream: string;
  readonly profile: QuirkProfile;
}

interface TokenGrant {
  readonly anonymous: boolean;
  readonly access: Map<string, Set<string>>;
}

interface UploadState {
  parts: number[];
  received: number;
  location: string | undefined;
}

interface Buffered {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const SECOND_HOST = '127.0.0.2';
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function authScheme(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  return h.split(' ')[0];
}

function errorBody(code: string, message: string, detail?: unknown): string {
  return JSON.stringify({
    errors: [{ code, message, detail: detail ?? null }],
  });
}

/** Parses `repository:<name>:<a,b>`; names may contain ':' only in theory. */
function parseScope(
  scope: string
): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

function basicMatches(
  header: string | undefined,
  login: ProfileLogin | undefined
): boolean {
  if (header === undefined || login === undefined) return false;
  const [scheme, value] = header.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || value === undefined) return false;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return false;
  const user = decoded.slice(0, i);
  const pass = decoded.slice(i + 1);
  const secret = login.kind === 'basic' ? login.password : login.token;
  return user === login.username && pass === secret;
}

type Route =
  | { kind: 'ping' }
  | { kind: 'manifest'; name: string; ref: string }
  | { kind: 'upload-start'; name: string }
  | { kind: 'upload'; name: string; id: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string }
  | { kind: 'other' };

function route(pathname: string): Route {
  if (pathname === '/v2/' || pathname === '/v2') return { kind: 'ping' };
  let m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'manifest', name: m[1]!, ref: m[2]! };
  m = /^\/v2\/(.+)\/blobs\/uploads\/?$/.exec(pathname);
  if (m) return { kind: 'upload-start', name: m[1]! };
  m = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'upload', name: m[1]!, id: m[2]! };
  m = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'blob', name: m[1]!, digest: m[2]! };
  m = /^\/v2\/(.+)\/tags\/list$/.exec(pathname);
  if (m) return { kind: 'tags', name: m[1]! };
  m = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(pathname);
  if (m) return { kind: 'referrers', name: m[1]!, digest: m[2]! };
  return { kind: 'other' };
}

const FALLBACK_TAG = /^sha256-([a-f0-9]{64})$/;
const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

interface Descriptorish {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  data?: unknown;
}

interface Manifestish {
  mediaType?: unknown;
  artifactType?: unknown;
  config?: Descriptorish;
  layers?: Descriptorish[];
  manifests?: Descriptorish[];
  subject?: Descriptorish;
  annotations?: Record<string, string>;
}

function parseManifest(body: Buffer): Manifestish | undefined {
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Starts the proxy (and its token/storage servers) for one profile. */
export async function startQuirkProxy(
  opts: StartQuirkProxyOptions
): Promise<RunningQuirkProxy> {
  const { profile } = opts;
  const { auth, quirks } = profile;
  const up = new URL(opts.upstream);
  const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 16 });
  const requests: ProxyRequestRecord[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  const tokens = new Map<string, TokenGrant>();
  const refreshTokens = new Set<string>();
  const uploads = new Map<string, UploadState>();
  const referrers = new Map<string, Map<string, Record<string, unknown>>>();
  const signingKey = randomBytes(32);
  let rateLimitedCount = 0;
  let rateLimitSpent = false;

  const registryServer = createServer();
  const servers: Server[] = [registryServer];
  const port = await listen(registryServer, '127.0.0.1');
  const host = `127.0.0.1:${port}`;
  const origin = `http://${host}`;

  let tokenOrigin: string | undefined;
  let tokenServer: Server | undefined;
  if (auth.scheme === 'bearer') {
    if (auth.tokenHost === 'separate') {
      tokenServer = createServer();
      servers.push(tokenServer);
      tokenOrigin = `http://${SECOND_HOST}:${await listen(tokenServer, SECOND_HOST)}`;
    } else {
      tokenOrigin = origin;
    }
  }
  const realm =
    tokenOrigin === undefined
      ? undefined
      : `${tokenOrigin}${auth.tokenPath ?? '/token'}`;

  let storageOrigin: string | undefined;
  let storageServer: Server | undefined;
  if (quirks.blobRedirect !== undefined) {
    storageServer = createServer();
    servers.push(storageServer);
    storageOrigin = `http://${SECOND_HOST}:${await listen(storageServer, SECOND_HOST)}`;
  }

  function record(
    server: ProxyRequestRecord['server'],
    req: IncomingMessage
  ): ProxyRequestRecord {
    const r: ProxyRequestRecord = {
      server,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      authorization: authScheme(req),
      headers: { ...req.headers },
      status: 0,
    };
    requests.push(r);
    return r;
  }

  function send(
    res: ServerResponse,
    rec: ProxyRequestRecord,
    status: number,
    headers: OutgoingHttpHeaders,
    body?: string | Buffer,
    head = false
  ): void {
    rec.status = status;
    const h: OutgoingHttpHeaders = { ...profileHeaders(), ...headers };
    if (body !== undefined && h['content-length'] === undefined) {
      h['content-length'] = Buffer.byteLength(body);
    }
    res.writeHead(status, h);
    res.end(head ? undefined : body);
  }

  function profileHeaders(): OutgoingHttpHeaders {
    return { ...(quirks.serverHeaders ?? {}) };
  }

  function sendError(
    res: ServerResponse,
    rec: ProxyRequestRecord,
    status: number,
    code: string,
    message: string,
    extra: OutgoingHttpHeaders = {},
    head = false
  ): void {
    if (quirks.htmlErrors === true) {
      send(
        res,
        rec,
        status,
        { 'content-type': 'text/html', ...extra },
        `<html><head><title>${status}</title></head><body><h1>${status}</h1><p>${message}</p></body></html>`,
        head
      );
      return;
    }
    send(
      res,
      rec,
      status,
      { 'content-type': 'application/json; charset=utf-8', ...extra },
      errorBody(code, message),
      head
    );
  }

  // ---- upstream -----------------------------------------------------------

  function upstreamHeaders(req: IncomingMessage): OutgoingHttpHeaders {
    const h: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_HEADERS.has(k)) continue;
      if (k === 'authorization' || k === 'host' || k === 'cookie') continue;
      h[k] = v;
    }
    // distribution builds Location URLs from Host: make them point at us.
    h.host = host;
    return h;
  }

  function rewriteLocation(headers: IncomingHttpHeaders): void {
    const loc = headers.location;
    if (loc !== undefined && loc.startsWith(up.origin)) {
      headers.location = origin + loc.slice(up.origin.length);
    }
  }

  function cleanResponseHeaders(
    headers: IncomingHttpHeaders
  ): OutgoingHttpHeaders {
    const h: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined || HOP_HEADERS.has(k)) continue;
      h[k] = v;
    }
    return h;
  }

  /** Sends a request upstream and buffers the answer. */
  function upstreamBuffered(
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    body?: Buffer
  ): Promise<Buffered> {
    return new Promise((resolve, reject) => {
      const h = { ...headers };
      if (body !== undefined) h['content-length'] = body.length;
      const r = httpRequest(
        {
          host: up.hostname,
          port: up.port,
          method,
          path,
          headers: h,
          agent: upstreamAgent,
        },
        (resp) => {
          readBody(resp).then((b) => {
            rewriteLocation(resp.headers);
            resolve({
              status: resp.statusCode ?? 502,
              headers: resp.headers,
              body: b,
            });
          }, reject);
        }
      );
      r.on('error', reject);
      r.end(body);
    });
  }

  /** Streams a request upstream and the answer back, untouched. */
  function forwardStream(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    path = req.url ?? '/',
    transform?: (status: number, headers: IncomingHttpHeaders) => number
  ): void {
    const r = httpRequest(
      {
        host: up.hostname,
        port: up.port,
        method: req.method,
        path,
        headers: upstreamHeaders(req),
        agent: upstreamAgent,
      },
      (resp) => {
        rewriteLocation(resp.headers);
        let status = resp.statusCode ?? 502;
        if (transform !== undefined) status = transform(status, resp.headers);
        rec.status = status;
        res.writeHead(status, {
          ...profileHeaders(),
          ...cleanResponseHeaders(resp.headers),
        });
        resp.pipe(res);
      }
    );
    r.on('error', (e) => {
      res.destroy(e);
    });
    req.pipe(r);
  }

  function sendBuffered(
    res: ServerResponse,
    rec: ProxyRequestRecord,
    b: Buffered,
    head: boolean,
    extra: OutgoingHttpHeaders = {}
  ): void {
    if (b.status >= 400 && quirks.htmlErrors === true && !head) {
      let code = 'UNKNOWN';
      let message = b.body.toString('utf8');
      const parsed = parseManifest(b.body) as
        { errors?: { code?: string; message?: string }[] } | undefined;
      const first = parsed?.errors?.[0];
      if (first !== undefined) {
        code = first.code ?? code;
        message = first.message ?? message;
      }
      sendError(res, rec, b.status, code, message, extra);
      return;
    }
    const h = cleanResponseHeaders(b.headers);
    if (!head) h['content-length'] = b.body.length;
    send(
      res,
      rec,
      b.status,
      { ...h, ...extra },
      head ? undefined : b.body,
      head
    );
  }

  // ---- auth ---------------------------------------------------------------

  function requiredAccess(
    req: IncomingMessage,
    r: Route,
    url: URL
  ): { scope: string; need: [string, string][] } | undefined {
    if (r.kind === 'ping' || r.kind === 'other') return undefined;
    const method = req.method ?? 'GET';
    const actions =
      method === 'GET' || method === 'HEAD'
        ? ['pull']
        : method === 'DELETE'
          ? ['delete']
          : ['pull', 'push'];
    const need: [string, string][] = actions.map((a) => [r.name, a]);
    const from = url.searchParams.get('from');
    if (
      r.kind === 'upload-start' &&
      url.searchParams.has('mount') &&
      from !== null
    ) {
      need.push([from, 'pull']);
    }
    return { scope: `repository:${r.name}:${actions.join(',')}`, need };
  }

  function challenge(scope?: string, error?: string): string {
    if (auth.scheme === 'basic') {
      const params = [`realm="${auth.basicRealm ?? 'Registry'}"`];
      if (auth.service !== undefined) params.push(`service="${auth.service}"`);
      return `${auth.challengeScheme} ${params.join(',')}`;
    }
    const params = [
      `realm="${realm ?? ''}"`,
      `service="${auth.service ?? ''}"`,
    ];
    if (scope !== undefined) params.push(`scope="${scope}"`);
    if (error !== undefined) params.push(`error="${error}"`);
    return `${auth.challengeScheme} ${params.join(',')}`;
  }

  /** true when the request may go on; otherwise the 401 has been sent. */
  function authorize(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    r: Route,
    url: URL
  ): boolean {
    if (auth.scheme === 'none') return true;
    const head = req.method === 'HEAD';
    const access = requiredAccess(req, r, url);
    if (auth.scheme === 'basic') {
      if (basicMatches(req.headers.authorization, auth.login)) return true;
      sendError(
        res,
        rec,
        401,
        'UNAUTHORIZED',
        'authentication required',
        { 'www-authenticate': challenge() },
        head
      );
      return false;
    }
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer (\S+)$/i.exec(header);
    const grant = m === null ? undefined : tokens.get(m[1]!);
    if (grant === undefined) {
      sendError(
        res,
        rec,
        401,
        'UNAUTHORIZED',
        'authentication required',
        { 'www-authenticate': challenge(access?.scope) },
        head
      );
      return false;
    }
    if (access === undefined) return true;
    for (const [name, action] of access.need) {
      if (grant.access.get(name)?.has(action) !== true) {
        const mountSource = name !== (r as { name: string }).name;
        sendError(
          res,
          rec,
          401,
          'UNAUTHORIZED',
          mountSource
            ? `access to the mount source ${name} was not granted`
            : 'insufficient scope',
          {
            'www-authenticate': challenge(access.scope, 'insufficient_scope'),
          },
          head
        );
        return false;
      }
    }
    return true;
  }

  // ---- token service --------------------------------------------------------

  function issue(
    anonymous: boolean,
    scopes: readonly string[]
  ): { token: string; granted: string[] } {
    const access = new Map<string, Set<string>>();
    const granted: string[] = [];
    for (const s of scopes) {
      const p = parseScope(s);
      if (p === undefined || p.type !== 'repository') continue;
      const allowed = p.actions.filter((a) =>
        anonymous ? auth.anonymousPull === true && a === 'pull' : true
      );
      const set = access.get(p.name) ?? new Set<string>();
      for (const a of allowed) set.add(a === '*' ? 'pull' : a);
      if (p.actions.includes('*')) {
        set.add('push');
        set.add('delete');
      }
      access.set(p.name, set);
      if (allowed.length > 0)
        granted.push(`repository:${p.name}:${allowed.join(',')}`);
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, { anonymous, access });
    return { token, granted };
  }

  function tokenJson(token: string, refresh?: string): string {
    const o: Record<string, unknown> = {};
    const fields = auth.tokenFields ?? 'token';
    if (fields === 'token' || fields === 'both') o.token = token;
    if (fields === 'access_token' || fields === 'both') o.access_token = token;
    o.expires_in = 300;
    o.issued_at = new Date().toISOString();
    if (refresh !== undefined) o.refresh_token = refresh;
    return JSON.stringify(o);
  }

  async function handleToken(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    url: URL
  ): Promise<void> {
    const json = { 'content-type': 'application/json' };
    if (req.method === 'POST') {
      const body = await readBody(req);
      if (auth.oauth2Post !== true) {
        send(
          res,
          rec,
          404,
          { 'content-type': 'text/plain' },
          '404 page not found'
        );
        return;
      }
      const form = new URLSearchParams(body.toString('utf8'));
      const grantType = form.get('grant_type') ?? undefined;
      const scopes = (form.get('scope') ?? '')
        .split(' ')
        .filter((s) => s !== '');
      const service = form.get('service') ?? undefined;
      tokenRequests.push({
        method: 'POST',
        grantType,
        anonymous: false,
        scopes,
        service,
      });
      if (service !== auth.service) {
        send(
          res,
          rec,
          400,
          json,
          JSON.stringify({
            error: 'invalid_request',
            error_description: 'unknown service',
          })
        );
        return;
      }
      const login = auth.login;
      let ok = false;
      if (grantType === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        ok =
          (login?.kind === 'identityToken' && rt === login.token) ||
          refreshTokens.has(rt);
      } else if (grantType === 'password') {
        const secret = login?.kind === 'basic' ? login.password : login?.token;
        ok =
          login !== undefined &&
          form.get('username') === login.username &&
          form.get('password') === secret;
      }
      if (!ok) {
        send(res, rec, 401, json, JSON.stringify({ error: 'invalid_grant' }));
        return;
      }
      const { token, granted } = issue(false, scopes);
      let refresh: string | undefined;
      if (grantType === 'password' && form.get('access_type') === 'offline') {
        refresh = randomBytes(24).toString('base64url');
        refreshTokens.add(refresh);
      }
      const o: Record<string, unknown> = JSON.parse(
        tokenJson(token, refresh)
      ) as Record<string, unknown>;
      o.access_token = token;
      o.scope = granted.join(' ');
      send(res, rec, 200, json, JSON.stringify(o));
      return;
    }
    if (req.method !== 'GET') {
      send(
        res,
        rec,
        405,
        json,
        JSON.stringify({ error: 'method not allowed' })
      );
      return;
    }
    const scopes = url.searchParams.getAll('scope');
    const service = url.searchParams.get('service') ?? undefined;
    const header = req.headers.authorization;
    const anonymous = header === undefined;
    tokenRequests.push({
      method: 'GET',
      grantType: undefined,
      anonymous,
      scopes,
      service,
    });
    if (service !== auth.service) {
      send(res, rec, 400, json, JSON.stringify({ details: 'invalid service' }));
      return;
    }
    if (!anonymous && !basicMatches(header, auth.login)) {
      send(
        res,
        rec,
        401,
        json,
        JSON.stringify({ details: 'incorrect username or password' })
      );
      return;
    }
    const { token } = issue(anonymous, scopes);
    let refresh: string | undefined;
    if (!anonymous && url.searchParams.get('offline_token') === 'true') {
      refresh = randomBytes(24).toString('base64url');
      refreshTokens.add(refresh);
    }
    send(res, rec, 200, json, tokenJson(token, refresh));
  }

  // ---- registry routes ----------------------------------------------------------

  function upstreamRef(ref: string): string {
    const m =
      quirks.fallbackTagIsDigest === true ? FALLBACK_TAG.exec(ref) : null;
    return m === null ? ref : `sha256:${m[1]!}`;
  }

  function manifestPath(name: string, ref: string, search: string): string {
    return `/v2/${name}/manifests/${upstreamRef(ref)}${search}`;
  }

  async function handleManifest(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    r: Extract<Route, { kind: 'manifest' }>,
    url: URL
  ): Promise<void> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const isTag = !r.ref.includes(':');
    const rateHeaders: OutgoingHttpHeaders =
      quirks.rateLimit?.on === 'manifest-get'
        ? { ...quirks.rateLimit.headers }
        : {};
    if (method === 'GET' || head) {
      if (
        method === 'GET' &&
        quirks.rateLimit?.on === 'manifest-get' &&
        !rateLimitSpent
      ) {
        rateLimitSpent = true;
        rateLimitedCount++;
        const extra: OutgoingHttpHeaders = { ...rateHeaders };
        if (quirks.rateLimit.retryAfterSeconds !== undefined) {
          extra['retry-after'] = String(quirks.rateLimit.retryAfterSeconds);
        }
        sendError(
          res,
          rec,
          429,
          'TOOMANYREQUESTS',
          'You have reached your pull rate limit.',
          extra
        );
        return;
      }
      if (head && quirks.headManifestBroken === true) {
        send(res, rec, 404, { 'content-type': 'text/html' }, undefined, true);
        return;
      }
      const headers = upstreamHeaders(req);
      if (upstreamRef(r.ref) !== r.ref) {
        // GitLab resolves the "tag" as the digest and serves whatever is
        // stored there, whatever the client asked for (oras-go#1396).
        headers.accept = [...MANIFEST_TYPES].join(', ');
      }
      const b = await upstreamBuffered(
        method,
        manifestPath(r.name, r.ref, url.search),
        headers
      );
      if (
        head &&
        b.status === 404 &&
        isTag &&
        quirks.headMissingTagStatus !== undefined
      ) {
        send(res, rec, quirks.headMissingTagStatus, {}, undefined, true);
        return;
      }
      if (quirks.omitManifestDigestHeader === true) {
        delete b.headers['docker-content-digest'];
      }
      sendBuffered(res, rec, b, head, rateHeaders);
      return;
    }
    if (method === 'DELETE') {
      await readBody(req);
      if (quirks.noManifestDelete === true) {
        sendError(
          res,
          rec,
          405,
          'UNSUPPORTED',
          'The operation is unsupported.'
        );
        return;
      }
      const b = await upstreamBuffered(
        'DELETE',
        manifestPath(r.name, r.ref, url.search),
        upstreamHeaders(req)
      );
      if (b.status === 202) {
        for (const entries of referrers.values())
          entries.delete(`${r.name}@${r.ref}`);
      }
      sendBuffered(res, rec, b, false);
      return;
    }
    if (method !== 'PUT') {
      forwardStream(req, res, rec);
      return;
    }
    const body = await readBody(req);
    const contentType = firstHeader(req.headers['content-type']) ?? '';
    const m = parseManifest(body);
    if (quirks.rejectManifestTypes?.includes(contentType) === true) {
      sendError(
        res,
        rec,
        400,
        'MANIFEST_INVALID',
        `manifest invalid: unsupported manifest media type ${contentType}`
      );
      return;
    }
    const configType =
      typeof m?.config?.mediaType === 'string' ? m.config.mediaType : undefined;
    const artifactType =
      typeof m?.artifactType === 'string' ? m.artifactType : undefined;
    const reject = quirks.rejectConfigTypes;
    if (
      reject !== undefined &&
      configType !== undefined &&
      reject.types.includes(configType)
    ) {
      sendError(
        res,
        rec,
        reject.status,
        reject.code,
        `${reject.message}${configType}`
      );
      return;
    }
    const allowed = quirks.allowedConfigTypes;
    if (allowed !== undefined) {
      for (const t of [configType, artifactType]) {
        if (t !== undefined && !allowed.includes(t)) {
          sendError(
            res,
            rec,
            400,
            'MANIFEST_INVALID',
            `manifest invalid: unknown media type: ${t}`
          );
          return;
        }
      }
    }
    if (quirks.rejectDataField === true && m !== undefined) {
      const descs = [
        m.config,
        ...(m.layers ?? []),
        ...(m.manifests ?? []),
        m.subject,
      ];
      if (descs.some((d) => d !== undefined && d.data !== undefined)) {
        sendError(res, rec, 405, 'UNSUPPORTED', 'Method Not Supported');
        return;
      }
    }
    const subject = m?.subject;
    if (
      quirks.rejectIndexSubject === true &&
      typeof subject?.mediaType === 'string' &&
      INDEX_TYPES.has(subject.mediaType)
    ) {
      sendError(res, rec, 405, 'UNSUPPORTED', 'Method Not Supported');
      return;
    }
    if (quirks.immutableTags === true && !r.ref.includes(':')) {
      // Harbor immutability rule: an existing tag may not be moved (#17332).
      const headers = upstreamHeaders(req);
      headers.accept = [...MANIFEST_TYPES].join(', ');
      delete headers['content-type'];
      delete headers['content-length'];
      const existing = await upstreamBuffered(
        'HEAD',
        manifestPath(r.name, r.ref, ''),
        headers
      );
      const current = firstHeader(existing.headers['docker-content-digest']);
      const next = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      if (existing.status === 200 && current !== next) {
        sendError(
          res,
          rec,
          412,
          'PRECONDITION',
          `Failed to process request due to '${r.name}:${r.ref}' configured as immutable.`
        );
        return;
      }
    }
    const b = await upstreamBuffered(
      'PUT',
      manifestPath(r.name, r.ref, url.search),
      upstreamHeaders(req),
      body
    );
    const extra: OutgoingHttpHeaders = {};
    if (
      b.status === 201 &&
      m !== undefined &&
      typeof subject?.digest === 'string'
    ) {
      if (quirks.referrers === 'api') {
        const key = `${r.name}@${subject.digest}`;
        const entries =
          referrers.get(key) ?? new Map<string, Record<string, unknown>>();
        const digest = firstHeader(b.headers['docker-content-digest']);
        if (digest !== undefined) {
          const d: Record<string, unknown> = {
            mediaType: contentType,
            digest,
            size: body.length,
          };
          const at = artifactType ?? configType;
          if (at !== undefined) d.artifactType = at;
          if (m.annotations !== undefined) d.annotations = m.annotations;
          entries.set(`${r.name}@${digest}`, d);
          referrers.set(key, entries);
        }
      }
      if (quirks.ociSubjectHeader === true)
        extra['oci-subject'] = subject.digest;
    }
    sendBuffered(res, rec, b, false, extra);
  }

  function handleReferrers(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    r: Extract<Route, { kind: 'referrers' }>,
    url: URL
  ): void {
    if (quirks.referrers === 'none-text') {
      forwardStream(req, res, rec);
      return;
    }
    req.resume();
    const head = req.method === 'HEAD';
    if (quirks.referrers === 'none-json') {
      sendError(
        res,
        rec,
        404,
        'MANIFEST_UNKNOWN',
        'manifest unknown',
        {},
        head
      );
      return;
    }
    if (!/^sha256:[a-f0-9]{64}$/.test(r.digest)) {
      sendError(
        res,
        rec,
        400,
        'DIGEST_INVALID',
        'provided digest did not match uploaded content',
        {},
        head
      );
      return;
    }
    const filter = url.searchParams.get('artifactType');
    let manifests = [
      ...(referrers.get(`${r.name}@${r.digest}`)?.values() ?? []),
    ];
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/vnd.oci.image.index.v1+json',
    };
    if (filter !== null) {
      manifests = manifests.filter((d) => d.artifactType === filter);
      headers['oci-filters-applied'] = 'artifactType';
    }
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests,
    });
    send(res, rec, 200, headers, body, head);
  }

  async function handleUploadStart(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    r: Extract<Route, { kind: 'upload-start' }>,
    url: URL
  ): Promise<void> {
    if (quirks.rateLimit?.on === 'upload-start' && !rateLimitSpent) {
      rateLimitSpent = true;
      rateLimitedCount++;
      await readBody(req);
      const extra: OutgoingHttpHeaders = {};
      if (quirks.rateLimit.retryAfterSeconds !== undefined) {
        extra['retry-after'] = String(quirks.rateLimit.retryAfterSeconds);
      }
      sendError(res, rec, 429, 'TOOMANYREQUESTS', 'Rate exceeded', extra);
      return;
    }
    const from = url.searchParams.get('from');
    if (
      quirks.mountMissingSource401 === true &&
      url.searchParams.has('mount') &&
      from !== null
    ) {
      const tags = await upstreamBuffered('GET', `/v2/${from}/tags/list`, {
        host,
      });
      if (tags.status === 404) {
        await readBody(req);
        const project = from.split('/')[0] ?? from;
        sendError(
          res,
          rec,
          401,
          'UNAUTHORIZED',
          `project ${project} not found`
        );
        return;
      }
    }
    void r;
    forwardStream(req, res, rec);
  }

  async function handleUpload(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    r: Extract<Route, { kind: 'upload' }>
  ): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'PATCH') {
      if (method === 'PUT' || method === 'DELETE') uploads.delete(r.id);
      forwardStream(req, res, rec);
      return;
    }
    const mode = quirks.chunkedUpload;
    if (mode === 'supported') {
      forwardStream(req, res, rec);
      return;
    }
    const body = await readBody(req);
    if (mode === 'refused') {
      sendError(
        res,
        rec,
        405,
        'UNSUPPORTED',
        'chunked blob uploads are not supported; use a monolithic upload'
      );
      return;
    }
    const range = firstHeader(req.headers['content-range']);
    if (mode === 'strict-content-range') {
      if (range !== undefined && !/^\d+-\d+$/.test(range)) {
        sendError(
          res,
          rec,
          400,
          'BLOB_UPLOAD_INVALID',
          'the Content-Range header format is invalid'
        );
        return;
      }
      const b = await upstreamBuffered(
        'PATCH',
        req.url ?? '/',
        upstreamHeaders(req),
        body
      );
      sendBuffered(res, rec, b, false);
      return;
    }
    // ECR: parts >= minChunkBytes except the last, 201 instead of 202, and
    // (aws/containers-roadmap#2831) bodies after the first part are dropped
    // while Range stays where it was.
    const state = uploads.get(r.id) ?? {
      parts: [],
      received: 0,
      location: undefined,
    };
    uploads.set(r.id, state);
    const min = quirks.minChunkBytes ?? 0;
    const last = state.parts[state.parts.length - 1];
    if (last !== undefined && last < min) {
      sendError(
        res,
        rec,
        400,
        'BLOB_UPLOAD_INVALID',
        `layer part size must be at least ${min} bytes`
      );
      return;
    }
    state.parts.push(body.length);
    if (state.parts.length > 1) {
      send(res, rec, 201, {
        location: state.location ?? `${origin}${req.url ?? '/'}`,
        range: `0-${Math.max(state.received - 1, 0)}`,
        'content-length': 0,
      });
      return;
    }
    const b = await upstreamBuffered(
      'PATCH',
      req.url ?? '/',
      upstreamHeaders(req),
      body
    );
    if (b.status === 202) {
      b.status = 201;
      state.received = body.length;
      state.location = firstHeader(b.headers.location);
    }
    sendBuffered(res, rec, b, false);
  }

  function storageSignature(path: string, expires: string): string {
    return createHmac('sha256', signingKey)
      .update(`${path}\n${expires}`)
      .digest('hex');
  }

  function handleBlob(
    req: IncomingMessage,
    res: ServerResponse,
    rec: ProxyRequestRecord,
    r: Extract<Route, { kind: 'blob' }>
  ): void {
    const method = req.method ?? 'GET';
    if (
      method === 'GET' &&
      quirks.blobGetNeedsAccept === true &&
      req.headers.accept === undefined
    ) {
      req.resume();
      send(
        res,
        rec,
        400,
        { 'content-type': 'text/html' },
        '<html><body><p>Content type could not be determined</p></body></html>'
      );
      return;
    }
    if (method === 'GET' && storageOrigin !== undefined) {
      req.resume();
      const style = quirks.blobRedirect;
      const objectPath =
        style === 's3'
          ? `/prod-us-east-1-starport-layer-bucket/${r.name}/${r.digest}`
          : `/download/storage/v1/b/artifacts-bucket/o/${encodeURIComponent(`${r.name}/${r.digest}`)}`;
      const expires = String(Math.floor(Date.now() / 1000) + 300);
      const sig = storageSignature(objectPath, expires);
      const q =
        style === 's3'
          ? `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Date=${expires}&X-Amz-Signature=${sig}`
          : `alt=media&Expires=${expires}&Signature=${sig}`;
      send(res, rec, style === 's3' ? 307 : 302, {
        location: `${storageOrigin}${objectPath}?${q}`,
        'content-length': 0,
      });
      return;
    }
    forwardStream(req, res, rec);
  }

  function handleStorage(req: IncomingMessage, res: ServerResponse): void {
    const rec = record('storage', req);
    req.resume();
    const url = new URL(req.url ?? '/', 'http://storage');
    const s3 = quirks.blobRedirect === 's3';
    if (req.headers.authorization !== undefined) {
      // What S3 answers a pre-signed URL that also carries a header
      // (open-policy-agent/opa#6728); GCS refuses it too.
      rec.status = 400;
      const body = s3
        ? '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>'
        : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Signed URLs cannot be combined with an Authorization header.</Message></Error>';
      res.writeHead(400, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    const expires = url.searchParams.get(s3 ? 'X-Amz-Date' : 'Expires') ?? '';
    const sig =
      url.searchParams.get(s3 ? 'X-Amz-Signature' : 'Signature') ?? '';
    const objectPath = url.pathname;
    if (
      sig !== storageSignature(objectPath, expires) ||
      Number(expires) * 1000 < Date.now()
    ) {
      rec.status = 403;
      const body =
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired or the signature does not match</Message></Error>';
      res.writeHead(403, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    const key = s3
      ? objectPath.split('/').slice(2).join('/')
      : decodeURIComponent(objectPath.split('/o/')[1] ?? '');
    const at = key.lastIndexOf('/');
    const name = key.slice(0, at);
    const digest = key.slice(at + 1);
    const headers: OutgoingHttpHeaders = { host };
    const range = firstHeader(req.headers.range);
    if (range !== undefined) headers.range = range;
    const u = httpRequest(
      {
        host: up.hostname,
        port: up.port,
        method: req.method === 'HEAD' ? 'HEAD' : 'GET',
        path: `/v2/${name}/blobs/${digest}`,
        headers,
        agent: upstreamAgent,
      },
      (resp) => {
        rec.status = resp.statusCode ?? 502;
        const h: OutgoingHttpHeaders = {
          'content-type': 'application/octet-stream',
        };
        for (const k of ['content-length', 'content-range', 'etag']) {
          const v = resp.headers[k];
          if (v !== undefined) h[k] = v;
        }
        res.writeHead(rec.status, h);
        resp.pipe(res);
      }
    );
    u.on('error', (e) => res.destroy(e));
    u.end();
  }

  async function handleRegistry(
    req: IncomingMessage,
    res: ServerResponse
  ): Promise<void> {
    const rec = record('registry', req);
    const url = new URL(req.url ?? '/', origin);
    if (
      realm !== undefined &&
      tokenOrigin === origin &&
      url.pathname === auth.tokenPath
    ) {
      await handleToken(req, res, rec, url);
      return;
    }
    const r = route(url.pathname);
    if (!authorize(req, res, rec, r, url)) {
      req.resume();
      return;
    }
    switch (r.kind) {
      case 'ping':
      case 'other':
        forwardStream(req, res, rec);
        return;
      case 'manifest':
        await handleManifest(req, res, rec, r, url);
        return;
      case 'referrers':
        handleReferrers(req, res, rec, r, url);
        return;
      case 'upload-start':
        await handleUploadStart(req, res, rec, r, url);
        return;
      case 'upload':
        await handleUpload(req, res, rec, r);
        return;
      case 'blob':
        handleBlob(req, res, rec, r);
        return;
      case 'tags': {
        const n = Number(url.searchParams.get('n') ?? '0');
        if (quirks.maxTagPageSize !== undefined && n > quirks.maxTagPageSize) {
          req.resume();
          sendError(
            res,
            rec,
            400,
            'UNSUPPORTED',
            `Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to ${quirks.maxTagPageSize}'`
          );
          return;
        }
        forwardStream(req, res, rec);
        return;
      }
    }
  }

  function guard(
    handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void
  ): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      Promise.resolve(handler(req, res)).catch((e: unknown) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`quirk proxy: ${String(e)}`);
        } else {
          res.destroy();
        }
      });
    };
  }

  registryServer.on('request', guard(handleRegistry));
  if (tokenServer !== undefined) {
    tokenServer.on(
      'request',
      guard(async (req, res) => {
        const rec = record('token', req);
        const url = new URL(req.url ?? '/', tokenOrigin);
        if (url.pathname !== auth.tokenPath) {
          req.resume();
          send(
            res,
            rec,
            404,
            { 'content-type': 'text/plain' },
            '404 page not found'
          );
          return;
        }
        await handleToken(req, res, rec, url);
      })
    );
  }
  if (storageServer !== undefined) {
    storageServer.on('request', guard(handleStorage));
  }

  return {
    host,
    port,
    url: origin,
    profile,
    realm,
    storageOrigin,
    requests,
    tokenRequests,
    rateLimited: () => rateLimitedCount,
    async stop(): Promise<void> {
      await Promise.all(servers.map(close));
      upstreamAgent.destroy();
    },
  };
}

/** A real registry, behind a quirk proxy unless the profile is distribution itself. */
export interface EmulatedRegistry {
  /** The registry host to put in references ('127.0.0.1:PORT'). */
  readonly host: string;
  readonly profile: QuirkProfile;
  readonly registry: RunningRegistry;
  readonly proxy: RunningQuirkProxy | undefined;
  /** The profile's login as a client credential, or undefined (anonymous). */
  readonly credential: Credential | undefined;
  /** A credential provider that knows only this registry's login. */
  readonly credentials: CredentialProvider;
  stop(): Promise<void>;
}

/** The client-side credential for a profile's login. */
export function loginCredential(
  login: ProfileLogin | undefined
): Credential | undefined {
  if (login === undefined) return undefined;
  return login.kind === 'basic'
    ? { kind: 'basic', username: login.username, password: login.password }
    : { kind: 'identityToken', username: login.username, token: login.token };
}

/** Starts the real registry and, for emulated profiles, its quirk proxy. */
export async function startEmulatedRegistry(
  profile: QuirkProfile
): Promise<EmulatedRegistry> {
  const registry = await startRegistry({ auth: 'none' });
  let proxy: RunningQuirkProxy | undefined;
  try {
    if (profile.proxied) {
      proxy = await startQuirkProxy({ upstream: registry.url, profile });
    }
  } catch (e) {
    await registry.stop();
    throw e;
  }
  const host = proxy?.host ?? registry.host;
  const credential = loginCredential(profile.auth.login);
  return {
    host,
    profile,
    registry,
    proxy,
    credential,
    credentials: staticCredentialProvider(
      credential === undefined ? {} : { [host]: credential }
    ),
    async stop(): Promise<void> {
      await proxy?.stop();
      await registry.stop();
    },
  };
}
