/**
 * Registry authentication (EDGE; spec/registry-client.md §2).
 *
 * Per registry: ping `GET /v2/` once (which also settles https vs plain
 * http, §3.4), remember the challenge, then answer it:
 *
 * - Basic: `Authorization: Basic …` on every request to that host only;
 * - Bearer: a token from the challenge's realm, by GET with Basic
 *   credentials (or anonymously), or by OAuth2 POST with a refresh
 *   (identity) token, falling back to GET when the POST is not supported;
 *   a stored registry token is sent as-is.
 *
 * Tokens are cached per (registry, scope set) until shortly before they
 * expire. A 401 whose challenge names a scope we did not ask for adds it
 * and re-fetches once (ggcr bearerTransport). Credentials for a registry go
 * only to that registry and its validated token realm.
 */
import { RegistryError } from '../errors.js';
import { apiHost } from './reference.js';
import { parseWwwAuthenticate } from './challenge.js';
import type { Challenge } from './challenge.js';
import type { Credential, CredentialProvider } from './credentials.js';
import {
  classifyNetworkError,
  errorFromResponse,
  headerValues,
  isPrivateAddress,
  safeUrl,
} from './transport.js';
import type { Transport, TransportResponse } from './transport.js';
import type { RegistryObservation } from './quirks.js';

export type Action = 'pull' | 'push' | 'delete';

/** `repository:<name>:<actions>` (distribution `scope.md`). */
export function repositoryScope(
  repository: string,
  actions: readonly Action[]
): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/**
 * Scopes for an operation on a repository. Push scope first: some
 * registries read only the first scope (ggcr #1312); a cross-repository
 * mount adds pull on the source repository.
 */
export function scopesFor(
  repository: string,
  access: 'pull' | 'push' | 'delete',
  mountFrom?: string
): string[] {
  const actions: Action[] =
    access === 'pull'
      ? ['pull']
      : access === 'push'
        ? ['pull', 'push']
        : ['pull', 'push', 'delete'];
  const scopes = [repositoryScope(repository, actions)];
  if (mountFrom !== undefined && mountFrom !== repository) {
    scopes.push(repositoryScope(mountFrom, ['pull']));
  }
  return scopes;
}

/** What the registry asked for at the ping (or at a later 401). */
export type AuthScheme =
  | { kind: 'none' }
  | { kind: 'basic' }
  | { kind: 'bearer'; realm: string; service: string | undefined };

interface RegistryState {
  base: URL;
  scheme: AuthScheme;
  /** Challenges and headers of the ping (src/oci/quirks.ts detection). */
  observation: RegistryObservation;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Token responses larger than this are refused (ggcr: 64 KiB). */
const TOKEN_BODY_CAP = 64 * 1024;
const MIN_TOKEN_LIFETIME_S = 60;
const RENEW_EARLY_MS = 5_000;

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Picks the challenge we can answer: Bearer before Basic. */
export function chooseScheme(
  challenges: readonly Challenge[]
): AuthScheme | undefined {
  const bearer = challenges.find(
    (c) => c.scheme === 'bearer' && c.params['realm'] !== undefined
  );
  if (bearer) {
    return {
      kind: 'bearer',
      realm: bearer.params['realm'] ?? '',
      service: bearer.params['service'],
    };
  }
  if (challenges.some((c) => c.scheme === 'basic')) return { kind: 'basic' };
  return undefined;
}

export interface AuthenticatorOptions {
  now?: () => number;
  clientId?: string;
}

export class Authenticator {
  readonly #transport: Transport;
  readonly #credentials: CredentialProvider;
  readonly #now: () => number;
  readonly #clientId: string;
  readonly #states = new Map<string, Promise<RegistryState>>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #credCache = new Map<string, Promise<Credential | undefined>>();
  /** Refresh tokens rotated by a token server: registry → newest token. */
  readonly #rotated = new Map<string, string>();

  constructor(
    transport: Transport,
    credentials: CredentialProvider,
    opts: AuthenticatorOptions = {}
  ) {
    this.#transport = transport;
    this.#credentials = credentials;
    this.#now = opts.now ?? Date.now;
    this.#clientId = opts.clientId ?? 'signet';
  }

  /** Base URL (scheme + API host) of a registry, after the ping. */
  async base(registry: string): Promise<URL> {
    return (await this.#state(registry)).base;
  }

  /** The challenge remembered for a registry (for quirk detection and tests). */
  async scheme(registry: string): Promise<AuthScheme> {
    return (await this.#state(registry)).scheme;
  }

  /** What the registry showed at the ping (challenges, headers), for quirks.ts. */
  async observation(registry: string): Promise<RegistryObservation> {
    return (await this.#state(registry)).observation;
  }

  /** Number of cached tokens (tests and diagnostics). */
  get cachedTokens(): number {
    return this.#tokens.size;
  }

  #state(registry: string): Promise<RegistryState> {
    let p = this.#states.get(registry);
    if (!p) {
      p = this.#ping(registry);
      this.#states.set(registry, p);
      // A failed ping is not remembered: the next call tries again.
      p.catch(() => this.#states.delete(registry));
    }
    return p;
  }

  #credential(registry: string): Promise<Credential | undefined> {
    let p = this.#credCache.get(registry);
    if (!p) {
      p = this.#credentials.get(registry);
      this.#credCache.set(registry, p);
      p.catch(() => this.#credCache.delete(registry));
    }
    return p;
  }

  /**
   * Ping `/v2/`. For hosts where plain HTTP is permitted (loopback, or
   * --allow-http-registry) https is tried first and http only when the
   * server does not speak TLS; an untrusted certificate is never a reason
   * to fall back.
   */
  async #ping(registry: string): Promise<RegistryState> {
    const host = apiHost(registry);
    const httpsBase = new URL(`https://${host}/`);
    const what = `connecting to registry ${registry}`;
    let res: TransportResponse;
    let base = httpsBase;
    try {
      res = await this.#transport.send({
        method: 'GET',
        url: new URL('/v2/', httpsBase),
        what,
        maxBodyBytes: TOKEN_BODY_CAP,
        followRedirects: false,
      });
    } catch (err) {
      const kind =
        err instanceof RegistryError
          ? classifyNetworkError(err.cause)
          : 'other';
      if (kind !== 'not-tls') throw err;
      if (!this.#transport.httpAllowedFor(httpsBase.hostname)) {
        throw new RegistryError(
          'REGISTRY_INSECURE_REFUSED',
          `${what}: ${host} answers plain http only; use --allow-http-registry to allow it`,
          {},
          { cause: err }
        );
      }
      base = new URL(`http://${host}/`);
      res = await this.#transport.send({
        method: 'GET',
        url: new URL('/v2/', base),
        what,
        maxBodyBytes: TOKEN_BODY_CAP,
        followRedirects: false,
      });
    }
    if (res.status >= 200 && res.status < 300) {
      return {
        base,
        scheme: { kind: 'none' },
        observation: { headers: res.headers },
      };
    }
    if (res.status === 401) {
      const challenges = parseWwwAuthenticate(
        headerValues(res.headers, 'www-authenticate')
      );
      const scheme = chooseScheme(challenges);
      if (!scheme) {
        throw new RegistryError(
          'REGISTRY_UNSUPPORTED',
          `${what}: no supported authentication scheme offered (need Basic or Bearer)`,
          { status: 401 }
        );
      }
      return {
        base,
        scheme,
        observation: { challenges, headers: res.headers },
      };
    }
    if (res.status === 429 || res.status >= 500) {
      throw errorFromResponse(res, what);
    }
    throw new RegistryError(
      'REGISTRY_PROTOCOL',
      `${what}: ${host} is not an OCI registry (GET /v2/ answered HTTP ${res.status})`,
      { status: res.status }
    );
  }

  /**
   * Credential headers for a request to `registry` needing `scopes`.
   * Empty when the registry needs none or we have nothing to offer.
   */
  async authorize(
    registry: string,
    scopes: readonly string[]
  ): Promise<Record<string, string>> {
    const state = await this.#state(registry);
    return this.#headersFor(registry, state, scopes, false);
  }

  /**
   * After a 401 from the registry itself: learn the challenge (scheme and
   * any scope the server named), drop the cached token and return fresh
   * headers to retry once, or undefined when retrying cannot help.
   */
  async reauthorize(
    registry: string,
    scopes: readonly string[],
    res: TransportResponse
  ): Promise<
    { headers: Record<string, string>; scopes: string[] } | undefined
  > {
    const state = await this.#state(registry);
    const challenges = parseWwwAuthenticate(
      headerValues(res.headers, 'www-authenticate')
    );
    const scheme = chooseScheme(challenges);
    if (!scheme) return undefined;
    const merged = [...scopes];
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const asked = bearer?.params['scope'];
    if (asked !== undefined) {
      for (const s of asked.split(' ').reverse()) {
        if (s !== '' && !merged.includes(s)) merged.unshift(s);
      }
    }
    const schemeChanged =
      state.scheme.kind !== scheme.kind ||
      (scheme.kind === 'bearer' &&
        state.scheme.kind === 'bearer' &&
        (scheme.realm !== state.scheme.realm ||
          scheme.service !== state.scheme.service));
    if (schemeChanged) state.scheme = scheme;
    const cred = await this.#credential(registry);
    if (scheme.kind === 'basic' && !schemeChanged) {
      // Basic credentials were already sent (or we have none): no point.
      return undefined;
    }
    if (
      scheme.kind === 'bearer' &&
      cred === undefined &&
      !schemeChanged &&
      asked === undefined
    ) {
      return undefined;
    }
    this.#tokens.delete(this.#tokenKey(registry, merged));
    this.#tokens.delete(this.#tokenKey(registry, scopes));
    const headers = await this.#headersFor(registry, state, merged, true);
    return { headers, scopes: merged };
  }

  /** Whether we hold credentials for a registry (anonymous otherwise). */
  async hasCredential(registry: string): Promise<boolean> {
    return (await this.#credential(registry)) !== undefined;
  }

  #tokenKey(registry: string, scopes: readonly string[]): string {
    return `${registry}\n${[...scopes].join(' ')}`;
  }

  async #headersFor(
    registry: string,
    state: RegistryState,
    scopes: readonly string[],
    fresh: boolean
  ): Promise<Record<string, string>> {
    const scheme = state.scheme;
    switch (scheme.kind) {
      case 'none':
        return {};
      case 'basic': {
        const cred = await this.#credential(registry);
        if (!cred) return {};
        switch (cred.kind) {
          case 'basic':
            return { authorization: basicHeader(cred.username, cred.password) };
          case 'identityToken':
            return {
              authorization: basicHeader(
                cred.username ?? '<token>',
                cred.token
              ),
            };
          case 'registryToken':
            return { authorization: `Bearer ${cred.token}` };
        }
        return {};
      }
      case 'bearer': {
        const cred = await this.#credential(registry);
        if (cred?.kind === 'registryToken') {
          return { authorization: `Bearer ${cred.token}` };
        }
        const key = this.#tokenKey(registry, scopes);
        const cached = this.#tokens.get(key);
        if (!fresh && cached && cached.expiresAt > this.#now()) {
          return { authorization: `Bearer ${cached.token}` };
        }
        const token = await this.#fetchToken(
          registry,
          state,
          scheme,
          scopes,
          cred
        );
        this.#tokens.set(key, token);
        return { authorization: `Bearer ${token.token}` };
      }
    }
  }

  /** Validates a token realm (§2.6): https unless the registry is plain http; no private IPs from public registries. */
  #realmUrl(registry: string, state: RegistryState, realm: string): URL {
    const what = `authenticating to ${registry}`;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: malformed token realm`
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: token realm has unsupported scheme ${url.protocol}`
      );
    }
    if (
      url.protocol === 'http:' &&
      state.base.protocol !== 'http:' &&
      !this.#transport.httpAllowedFor(url.hostname)
    ) {
      throw new RegistryError(
        'REGISTRY_INSECURE_REFUSED',
        `${what}: refusing plain http token realm ${safeUrl(url)}`
      );
    }
    if (
      isPrivateAddress(url.hostname) &&
      !isPrivateAddress(state.base.hostname)
    ) {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: refusing token realm on private address ${url.host}`
      );
    }
    return url;
  }

  async #fetchToken(
    registry: string,
    state: RegistryState,
    scheme: { realm: string; service: string | undefined },
    scopes: readonly string[],
    cred: Credential | undefined
  ): Promise<CachedToken> {
    const realm = this.#realmUrl(registry, state, scheme.realm);
    const what = `authenticating to ${registry}`;
    if (cred?.kind === 'identityToken') {
      const refresh = this.#rotated.get(registry) ?? cred.token;
      const form = new URLSearchParams();
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', refresh);
      if (scheme.service !== undefined) form.set('service', scheme.service);
      form.set('client_id', this.#clientId);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      const res = await this.#transport.send({
        method: 'POST',
        url: realm,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString(), 'utf8'),
        what,
        maxBodyBytes: TOKEN_BODY_CAP,
      });
      // OAuth2 POST unsupported: fall back to GET (distribution oauth.md; ggcr Refresh).
      if (res.status !== 404 && res.status !== 405) {
        return this.#tokenFrom(registry, res, what);
      }
      return this.#tokenByGet(
        registry,
        realm,
        scheme.service,
        scopes,
        basicHeader(cred.username ?? '<token>', refresh),
        what
      );
    }
    const auth =
      cred?.kind === 'basic'
        ? basicHeader(cred.username, cred.password)
        : undefined;
    return this.#tokenByGet(
      registry,
      realm,
      scheme.service,
      scopes,
      auth,
      what
    );
  }

  async #tokenByGet(
    registry: string,
    realm: URL,
    service: string | undefined,
    scopes: readonly string[],
    authorization: string | undefined,
    what: string
  ): Promise<CachedToken> {
    // Keep any query already in the realm (ggcr #758).
    const url = new URL(realm.href);
    if (service !== undefined) url.searchParams.append('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    url.searchParams.append('client_id', this.#clientId);
    const req: Parameters<Transport['send']>[0] = {
      method: 'GET',
      url,
      what,
      maxBodyBytes: TOKEN_BODY_CAP,
    };
    if (authorization !== undefined) req.credentials = { authorization };
    const res = await this.#transport.send(req);
    return this.#tokenFrom(registry, res, what);
  }

  #tokenFrom(
    registry: string,
    res: TransportResponse,
    what: string
  ): CachedToken {
    if (res.status === 401 || res.status === 403) {
      const e = errorFromResponse(
        res,
        `${what}: token server refused the credentials`
      );
      throw new RegistryError('REGISTRY_UNAUTHORIZED', e.message, {
        status: res.status,
        ...(e.ociCode !== undefined ? { ociCode: e.ociCode } : {}),
      });
    }
    if (res.status !== 200)
      throw errorFromResponse(res, `${what}: token request`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: token response is not JSON`,
        { status: res.status }
      );
    }
    if (typeof parsed !== 'object' || parsed === null) {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: malformed token response`
      );
    }
    const p = parsed as Record<string, unknown>;
    const token =
      typeof p['token'] === 'string' && p['token'] !== ''
        ? p['token']
        : typeof p['access_token'] === 'string'
          ? p['access_token']
          : '';
    if (token === '' || !/^[\x21-\x7e]+$/.test(token)) {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: token response carries no usable token`
      );
    }
    if (typeof p['refresh_token'] === 'string' && p['refresh_token'] !== '') {
      this.#rotated.set(registry, p['refresh_token']);
    }
    // expires_in defaults to 60 s and is clamped to at least 60 s; issued_at
    // is used only when it is neither in the future nor already expired.
    const lifetime =
      typeof p['expires_in'] === 'number' && Number.isFinite(p['expires_in'])
        ? Math.max(MIN_TOKEN_LIFETIME_S, p['expires_in'])
        : MIN_TOKEN_LIFETIME_S;
    const now = this.#now();
    let issued = now;
    if (typeof p['issued_at'] === 'string') {
      const t = Date.parse(p['issued_at']);
      if (!Number.isNaN(t) && t <= now && t + lifetime * 1000 > now) issued = t;
    }
    return { token, expiresAt: issued + lifetime * 1000 - RENEW_EARLY_MS };
  }
}
