/**
 * Registry credentials from the files and programs Docker and Podman users
 * already have (spec registry-client.md §2.7–§2.9).
 *
 * Lookup order of dockerCredentialProvider for registry R (identity host,
 * e.g. `index.docker.io`, `ghcr.io`, `127.0.0.1:5000`):
 *
 *  1. `DOCKER_AUTH_CONFIG`: a whole config.json in the environment (GitLab CI
 *     convention);
 *  2. Docker `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`
 *     (else the legacy flat `~/.dockercfg`);
 *  3. Podman / containers-auth.json: `$REGISTRY_AUTH_FILE`, then
 *     `$XDG_RUNTIME_DIR/containers/auth.json`, then
 *     `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`;
 *  4. nothing: the caller goes anonymous.
 *
 * Inside one file: `credHelpers[R]`, else `credsStore` (a
 * `docker-credential-<name>` program), then `auths`. A helper that has no
 * entry for R falls through to `auths`, then to the next file.
 *
 * Key matching is by exact host (with port): `https://ghcr.io/v2/` and
 * `ghcr.io` both mean ghcr.io, and `ghcr.io.evil.example` does not. Docker
 * Hub's identity `index.docker.io`, `docker.io` and `registry-1.docker.io`
 * are one registry, stored as `https://index.docker.io/v1/`. Podman keys may
 * name a namespace (`quay.io/org`), matched most-specific first when the
 * caller passes the repository.
 *
 * Errors (SignetError `CREDENTIALS_ERROR`) name the file or program and the
 * registry, never a secret. EDGE: reads files and runs programs.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SignetError } from '../errors.js';
import { decodeBase64Strict } from '../core/encoding.js';
import { redact } from '../core/redact.js';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** A refresh token: exchanged at the token realm with an OAuth2 POST. */
  | { kind: 'identityToken'; username?: string; token: string }
  /** A bearer token sent as-is. */
  | { kind: 'registryToken'; token: string };

export interface CredentialProvider {
  /**
   * Credentials for `registry` (identity host: `index.docker.io` or
   * `host[:port]`), or undefined for anonymous access. `repository`
   * (`org/app`), when given, lets namespace-scoped entries match.
   */
  get(registry: string, repository?: string): Promise<Credential | undefined>;
}

export interface DockerCredentialProviderOptions {
  /** Environment for variable lookups and for credential programs (default process.env). */
  env?: Record<string, string | undefined>;
  /** Home directory for ~/.docker and ~/.config (default os.homedir()). */
  homeDir?: string;
  /** Time limit for one credential-program run (default 20 s). */
  helperTimeoutMs?: number;
  /** How long a credential program's answer is reused (default 10 min). */
  helperCacheMs?: number;
}

const DOCKER_HUB = 'index.docker.io';
const DOCKER_HUB_ALIASES = new Set([
  'index.docker.io',
  'docker.io',
  'registry-1.docker.io',
]);
/** The server string Docker stores Hub credentials under. */
const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HELPER_MAX_OUTPUT = 64 * 1024;
const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

type Flavour = 'docker' | 'podman';

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

interface ConfigFile {
  /** Where it came from, for messages: a path or `$DOCKER_AUTH_CONFIG`. */
  source: string;
  flavour: Flavour;
  auths: Record<string, AuthEntry>;
  credHelpers: Record<string, string>;
  credsStore: string | undefined;
}

function credError(message: string, cause?: unknown): SignetError {
  return new SignetError(
    'CREDENTIALS_ERROR',
    message,
    cause === undefined ? undefined : { cause }
  );
}

/** Identity form of a host: lower-case, Docker Hub aliases folded. */
function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(h) ? DOCKER_HUB : h;
}

/**
 * Normalise a config key. With a scheme (`https://host/v1/`) or in a Docker
 * file, only the host counts (docker/cli `ConvertToHostname`); a Podman key
 * without a scheme may name a namespace (`quay.io/org`).
 */
function normaliseKey(key: string, flavour: Flavour): string {
  let k = key.trim();
  const schemeMatch = /^https?:\/\//i.exec(k);
  if (schemeMatch !== null) k = k.slice(schemeMatch[0].length);
  const slash = k.indexOf('/');
  if (slash < 0) return canonicalHost(k);
  const host = canonicalHost(k.slice(0, slash));
  if (schemeMatch !== null || flavour === 'docker') return host;
  const path = k.slice(slash + 1).replace(/\/+$/, '');
  return path === '' ? host : `${host}/${path}`;
}

/** Keys to try, most specific first. */
function candidates(
  registry: string,
  repository: string | undefined,
  flavour: Flavour
): string[] {
  const out: string[] = [];
  if (repository !== undefined && repository !== '') {
    const parts = repository.split('/');
    // Podman: every namespace prefix; Docker (like ggcr): the full repository.
    const min = flavour === 'podman' ? 1 : parts.length;
    for (let n = parts.length; n >= min; n--) {
      out.push(`${registry}/${parts.slice(0, n).join('/')}`);
    }
  }
  out.push(registry);
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseConfig(
  text: string,
  source: string,
  flavour: Flavour,
  legacy = false
): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Do not quote the parser message: it can contain file content.
    throw credError(`credential file ${source} is not valid JSON`);
  }
  if (!isObject(json)) {
    throw credError(`credential file ${source} is not a JSON object`);
  }
  const authsRaw = legacy ? json : (json.auths ?? {});
  if (!isObject(authsRaw)) {
    throw credError(`credential file ${source}: "auths" is not an object`);
  }
  const auths: Record<string, AuthEntry> = {};
  for (const [k, v] of Object.entries(authsRaw)) {
    if (!isObject(v)) {
      throw credError(
        `credential file ${source}: entry ${JSON.stringify(k)} is not an object`
      );
    }
    auths[k] = v;
  }
  const helpersRaw = legacy ? {} : (json.credHelpers ?? {});
  if (!isObject(helpersRaw)) {
    throw credError(
      `credential file ${source}: "credHelpers" is not an object`
    );
  }
  const credHelpers: Record<string, string> = {};
  for (const [k, v] of Object.entries(helpersRaw)) {
    if (typeof v !== 'string') {
      throw credError(
        `credential file ${source}: credHelpers entry ${JSON.stringify(k)} is not a string`
      );
    }
    credHelpers[k] = v;
  }
  const store = legacy ? undefined : json.credsStore;
  if (store !== undefined && typeof store !== 'string') {
    throw credError(`credential file ${source}: "credsStore" is not a string`);
  }
  return {
    source,
    flavour,
    auths,
    credHelpers,
    credsStore: store === '' ? undefined : store,
  };
}

function decodeAuthField(value: string): string | undefined {
  const v = value.trim();
  const padded = v.length % 4 === 0 ? v : v + '='.repeat(4 - (v.length % 4));
  return decodeBase64Strict(padded)?.toString('utf8');
}

/** The credential an `auths` entry holds, or undefined for an empty placeholder. */
function entryCredential(
  entry: AuthEntry,
  where: string
): Credential | undefined {
  let username: string | undefined;
  let password: string | undefined;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = decodeAuthField(entry.auth);
    const colon = decoded?.indexOf(':') ?? -1;
    if (decoded === undefined || colon < 0) {
      throw credError(`${where}: "auth" is not base64 of "username:password"`);
    }
    username = decoded.slice(0, colon);
    // Some writers pad the password with NULs (spec §2.7).
    password = decoded.slice(colon + 1).replace(/\0+$/, '');
  }
  if (typeof entry.username === 'string' && entry.username !== '') {
    username ??= entry.username;
  }
  if (typeof entry.password === 'string' && entry.password !== '') {
    password ??= entry.password;
  }
  // Precedence as ggcr: a registry token is used as-is, an identity token is
  // exchanged, else basic credentials.
  if (typeof entry.registrytoken === 'string' && entry.registrytoken !== '') {
    return { kind: 'registryToken', token: entry.registrytoken };
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    return username !== undefined && username !== ''
      ? { kind: 'identityToken', username, token: entry.identitytoken }
      : { kind: 'identityToken', token: entry.identitytoken };
  }
  if (username !== undefined && password !== undefined) {
    return { kind: 'basic', username, password };
  }
  return undefined;
}

/** Entries of `map` whose normalised key equals `want`, exact spellings first. */
function matchingKeys(
  map: Record<string, unknown>,
  want: string,
  flavour: Flavour
): string[] {
  const hits = Object.keys(map).filter(
    (k) => normaliseKey(k, flavour) === want
  );
  const rank = (k: string): number =>
    k === want || (want === DOCKER_HUB && k === DOCKER_HUB_SERVER) ? 0 : 1;
  return hits.sort((a, b) => rank(a) - rank(b));
}

interface HelperAnswer {
  at: number;
  value: Promise<Credential | undefined>;
}

/**
 * Credentials from Docker and Podman configuration, as described at the top
 * of this file. Files are re-read on every call (they are small and `docker
 * login` may change them); credential-program answers are cached.
 */
export function dockerCredentialProvider(
  opts: DockerCredentialProviderOptions = {}
): CredentialProvider {
  const env = opts.env ?? process.env;
  const home = opts.homeDir ?? homedir();
  const timeoutMs = opts.helperTimeoutMs ?? 20_000;
  const cacheMs = opts.helperCacheMs ?? 10 * 60_000;
  const helperCache = new Map<string, HelperAnswer>();

  async function loadConfigs(): Promise<ConfigFile[]> {
    const files: ConfigFile[] = [];
    const inline = env.DOCKER_AUTH_CONFIG;
    if (inline !== undefined && inline.trim() !== '') {
      files.push(parseConfig(inline, '$DOCKER_AUTH_CONFIG', 'docker'));
    }

    const dockerDir =
      env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== ''
        ? env.DOCKER_CONFIG
        : join(home, '.docker');
    const dockerConfig = await readConfig(
      join(dockerDir, 'config.json'),
      'docker'
    );
    if (dockerConfig !== undefined) {
      files.push(dockerConfig);
    } else {
      // docker/cli reads the legacy file only when config.json is absent.
      const legacy = await readConfig(join(home, '.dockercfg'), 'docker', true);
      if (legacy !== undefined) files.push(legacy);
    }

    const podmanPaths: string[] = [];
    if (env.REGISTRY_AUTH_FILE !== undefined && env.REGISTRY_AUTH_FILE !== '') {
      podmanPaths.push(env.REGISTRY_AUTH_FILE);
    }
    if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') {
      podmanPaths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
    }
    const xdgConfig =
      env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ''
        ? env.XDG_CONFIG_HOME
        : join(home, '.config');
    podmanPaths.push(join(xdgConfig, 'containers', 'auth.json'));
    for (const p of podmanPaths) {
      const f = await readConfig(p, 'podman');
      if (f !== undefined) files.push(f);
    }
    return files;
  }

  function runHelperCached(
    name: string,
    server: string,
    registry: string,
    source: string
  ): Promise<Credential | undefined> {
    const key = `${name}\0${server}`;
    const now = Date.now();
    const hit = helperCache.get(key);
    if (hit !== undefined && now - hit.at < cacheMs) return hit.value;
    const value = runHelper(name, server, registry, source, env, timeoutMs);
    helperCache.set(key, { at: now, value });
    // Failures are not cached: the next call runs the program again.
    value.catch(() => {
      if (helperCache.get(key)?.value === value) helperCache.delete(key);
    });
    return value;
  }

  async function fromHelper(
    name: string,
    registry: string,
    source: string
  ): Promise<Credential | undefined> {
    if (!HELPER_NAME_RE.test(name)) {
      throw credError(
        `${source}: invalid credential helper name ${JSON.stringify(name)}`
      );
    }
    if (registry === DOCKER_HUB) {
      return runHelperCached(name, DOCKER_HUB_SERVER, registry, source);
    }
    const byHost = await runHelperCached(name, registry, registry, source);
    if (byHost !== undefined) return byHost;
    // Some stores keep the URL form the login used (spec §2.7).
    return runHelperCached(name, `https://${registry}`, registry, source);
  }

  async function fromFile(
    file: ConfigFile,
    registry: string,
    repository: string | undefined
  ): Promise<Credential | undefined> {
    const [helperKey] = matchingKeys(file.credHelpers, registry, 'docker');
    const helper =
      helperKey !== undefined ? file.credHelpers[helperKey] : file.credsStore;
    if (helper !== undefined && helper !== '') {
      const c = await fromHelper(helper, registry, file.source);
      if (c !== undefined) return c;
    }
    for (const want of candidates(registry, repository, file.flavour)) {
      // An exact key (e.g. ggcr's full repository) before normalised ones.
      const keys =
        want === registry
          ? matchingKeys(file.auths, want, file.flavour)
          : Object.keys(file.auths).filter(
              (k) =>
                k === want ||
                (file.flavour === 'podman' &&
                  normaliseKey(k, file.flavour) === want)
            );
      for (const k of keys) {
        const entry = file.auths[k];
        if (entry === undefined) continue;
        const c = entryCredential(
          entry,
          `credential file ${file.source}, entry ${JSON.stringify(k)}`
        );
        if (c !== undefined) return c;
      }
    }
    return undefined;
  }

  return {
    async get(registry, repository) {
      const host = canonicalHost(registry);
      for (const file of await loadConfigs()) {
        const c = await fromFile(file, host, repository);
        if (c !== undefined) return c;
      }
      return undefined;
    },
  };
}

async function readConfig(
  path: string,
  flavour: Flavour,
  legacy = false
): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    const buf = await readFile(path);
    if (buf.length > MAX_CONFIG_BYTES) {
      throw credError(`credential file ${path} is larger than 4 MiB`);
    }
    text = buf.toString('utf8');
  } catch (e) {
    if (e instanceof SignetError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw credError(
      `cannot read credential file ${path}: ${code ?? 'unknown error'}`,
      e
    );
  }
  if (text.trim() === '') return undefined;
  return parseConfig(text, path, flavour, legacy);
}

/** docker-credential-helpers messages that mean "no entry". */
const NOT_FOUND_RE =
  /credentials not found|no credentials server url|no credentials username/i;

/** A short, redacted excerpt of program output for an error message. */
function excerpt(text: string): string {
  const t = text.trim();
  // JSON on a failure path may be a credential: never quote it.
  if (t === '' || t.startsWith('{')) return '';
  const firstLine = t.split('\n', 1)[0] ?? '';
  const clipped =
    firstLine.length > 200 ? `${firstLine.slice(0, 200)}…` : firstLine;
  return `: ${redact(clipped)}`;
}

/**
 * Runs `docker-credential-<name> get` with the server string on stdin
 * (docker-credential-helpers protocol): stdout
 * `{"ServerURL","Username","Secret"}`; Username `<token>` means Secret is an
 * identity token; "credentials not found" is a miss.
 */
function runHelper(
  name: string,
  server: string,
  registry: string,
  source: string,
  env: Record<string, string | undefined>,
  timeoutMs: number
): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`;
  const what = `credential helper ${program} (from ${source}) for ${registry}`;
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      ['get'],
      {
        env,
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: HELPER_MAX_OUTPUT,
        windowsHide: true,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err === null) {
          try {
            resolve(parseHelperOutput(stdout, what));
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
          return;
        }
        // execFile errors: `code` is an errno string for spawn failures and
        // the exit status (a number) when the program ran and failed.
        const e = err as {
          killed?: boolean;
          signal?: string | null;
          code?: string | number | null;
        };
        if (e.code === 'ENOENT') {
          reject(credError(`${what}: ${program} not found on PATH`));
          return;
        }
        if (e.code === 'EACCES') {
          reject(credError(`${what}: ${program} is not executable`));
          return;
        }
        if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          reject(credError(`${what}: output larger than 64 KiB`));
          return;
        }
        if (e.killed === true || e.signal != null) {
          reject(
            credError(
              e.killed === true
                ? `${what}: timed out after ${timeoutMs} ms`
                : `${what}: killed by ${e.signal ?? 'a signal'}`
            )
          );
          return;
        }
        if (NOT_FOUND_RE.test(stdout) || NOT_FOUND_RE.test(stderr)) {
          resolve(undefined);
          return;
        }
        const status =
          typeof e.code === 'number' ? ` (exit status ${e.code})` : '';
        reject(
          credError(
            `${what} failed${status}${excerpt(stderr) || excerpt(stdout)}`
          )
        );
      }
    );
    child.stdin?.on('error', () => {
      // The program may exit without reading stdin; its exit status tells.
    });
    child.stdin?.end(server);
  });
}

function parseHelperOutput(
  stdout: string,
  what: string
): Credential | undefined {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw credError(`${what}: output is not JSON`);
  }
  if (!isObject(json)) throw credError(`${what}: output is not a JSON object`);
  const { Username: username, Secret: secret } = json;
  if (
    typeof secret !== 'string' ||
    (username !== undefined && typeof username !== 'string')
  ) {
    throw credError(`${what}: output lacks string "Username"/"Secret" fields`);
  }
  if (secret === '') return undefined;
  if (username === '<token>') return { kind: 'identityToken', token: secret };
  return { kind: 'basic', username: username ?? '', password: secret };
}

/** Fixed credentials by registry (identity host, Docker Hub aliases folded). */
export function staticCredentialProvider(
  map: Record<string, Credential>
): CredentialProvider {
  const byHost = new Map<string, Credential>();
  for (const [k, v] of Object.entries(map)) {
    byHost.set(normaliseKey(k, 'docker'), v);
  }
  return {
    get(registry) {
      return Promise.resolve(byHost.get(canonicalHost(registry)));
    },
  };
}

/** The first provider that has credentials wins; errors propagate. */
export function chainCredentialProviders(
  ...providers: CredentialProvider[]
): CredentialProvider {
  return {
    async get(registry, repository) {
      for (const p of providers) {
        const c = await p.get(registry, repository);
        if (c !== undefined) return c;
      }
      return undefined;
    },
  };
}
