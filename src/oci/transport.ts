/**
 * HTTP transport for registry and token-server traffic (EDGE).
 *
 * One undici Agent per client (keep-alive, TLS options), and our own loops
 * for the two things that must stay under our control
 * (spec/registry-client.md §5):
 *
 * - redirects are followed by hand; credential headers go only to the
 *   origin the request was made for, and never again once a hop left it
 *   (A → B → A gets none), https → http downgrades are refused, and a
 *   public registry cannot bounce us to loopback or private addresses;
 * - idempotent requests are retried on network errors and 408/429/5xx with
 *   full-jitter exponential backoff, honouring Retry-After (seconds or an
 *   HTTP date) up to a maximum wait.
 *
 * Every body read is capped; error bodies are read up to 64 KiB and decoded
 * into RegistryError. Messages never carry query strings, tokens or
 * passwords.
 */
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { RegistryError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { redact } from '../core/redact.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface LogEvent {
  level: 'debug' | 'info' | 'warn';
  message: string;
}
export type LogFn = (event: LogEvent) => void;

export interface RetryOptions {
  /** Total attempts per request, first one included. Default 4. */
  maxAttempts?: number;
  /** Backoff base in ms (first retry waits up to this). Default 500. */
  baseDelayMs?: number;
  /** Backoff cap in ms. Default 30 000. */
  maxDelayMs?: number;
  /** A Retry-After longer than this ends the retries. Default 60 000. */
  maxRetryAfterMs?: number;
}

export interface TransportOptions {
  /** Plain HTTP for hosts that are not loopback (cosign --allow-http-registry). */
  allowHttp?: boolean;
  /** Skip TLS certificate verification (cosign --allow-insecure-registry). */
  insecureSkipTlsVerify?: boolean;
  /** Extra trusted CA certificates (PEM), added to Node's default roots. */
  ca?: string | readonly string[];
  userAgent?: string;
  log?: LogFn;
  retry?: RetryOptions;
  /** Time allowed for connect, for the response headers, and between body chunks. Default 30 000. */
  timeoutMs?: number;
  /** Injected for tests: waits between retries. */
  sleep?: (ms: number) => Promise<void>;
  /** Injected for tests: uniform [0, 1) for jitter. */
  random?: () => number;
  /** Injected for tests: wall clock in ms (Retry-After dates). */
  now?: () => number;
}

export interface TransportRequest {
  method: HttpMethod;
  url: URL;
  /** Headers sent on every hop (Accept, Content-Type, …). */
  headers?: Record<string, string>;
  /**
   * Headers sent only while the request stays on the origin of `url`
   * (Authorization and other credentials).
   */
  credentials?: Record<string, string>;
  /** Request body; a Uint8Array so it can be sent again on retry or redirect. */
  body?: Uint8Array | undefined;
  /**
   * Retry on network errors and 408/429/5xx. Default: true, except POST and
   * PATCH, which are retried only on 429 and refused connections (the server
   * did not process them). false: never retry.
   */
  retry?: boolean;
  /** Cap for a 2xx body; reading more fails with REGISTRY_TOO_LARGE. Default 4 MiB. */
  maxBodyBytes?: number;
  /** Follow redirects. Default true. */
  followRedirects?: boolean;
  /** What we were doing, for messages: `fetching manifest host/repo:tag`. */
  what: string;
}

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The URL that produced this response (after redirects). */
  url: URL;
  /** True when the response came from another origin than the request URL. */
  leftOrigin: boolean;
  body: Buffer;
}

/** Error bodies are read up to this many bytes (ggcr uses 64 KiB too). */
export const ERROR_BODY_CAP = 64 * 1024;
const DEFAULT_BODY_CAP = 4 * 1024 * 1024;
const MAX_REDIRECTS = 10;

const RETRY_STATUSES = new Set([408, 429, 499, 500, 502, 503, 504, 522]);
const TRANSIENT_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** How a failed connection failed, for scheme selection and messages. */
export type NetworkFailure =
  'tls-untrusted' | 'not-tls' | 'timeout' | 'refused' | 'dns' | 'other';

function errCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = err.code;
    if (typeof c === 'string') return c;
  }
  return '';
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Classifies an error thrown by undici while connecting or reading. */
export function classifyNetworkError(err: unknown): NetworkFailure {
  const code = errCode(err);
  const msg = errMessage(err);
  if (
    code.startsWith('ERR_TLS_CERT') ||
    code.startsWith('CERT_') ||
    code.includes('SELF_SIGNED') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'HOSTNAME_MISMATCH'
  ) {
    return 'tls-untrusted';
  }
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    /wrong version number|packet length too long|unknown protocol/i.test(msg)
  ) {
    return 'not-tls';
  }
  if (code.includes('TIMEOUT') || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  return 'other';
}

function isTransientNetworkError(err: unknown): boolean {
  return TRANSIENT_NET_CODES.has(errCode(err));
}

/** `localhost`, `*.localhost`, 127.0.0.0/8 and ::1: plain HTTP is allowed by default. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** IP literals a public registry must never send us to (SSRF guard). */
export function isPrivateAddress(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isLoopbackHost(h)) return true;
  if (isIP(h) === 4) {
    const [a = 0, b = 0] = h.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (isIP(h) === 6) {
    return (
      h === '::' ||
      h.startsWith('fc') ||
      h.startsWith('fd') ||
      h.startsWith('fe8') ||
      h.startsWith('fe9') ||
      h.startsWith('fea') ||
      h.startsWith('feb') ||
      h.startsWith('::ffff:')
    );
  }
  return false;
}

/** Origin and path only: query strings carry upload state and signatures. */
export function safeUrl(url: URL): string {
  return redact(`${url.protocol}//${url.host}${url.pathname}`);
}

/** A header value as one string (first value when repeated). */
export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string
): string | undefined {
  const v = headers[name.toLowerCase()];
  if (Array.isArray(v)) return v[0];
  return v;
}

/** All values of a header (several WWW-Authenticate headers may come back). */
export function headerValues(
  headers: Record<string, string | string[] | undefined>,
  name: string
): string[] {
  const v = headers[name.toLowerCase()];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * Parses Retry-After: delta-seconds or an HTTP date. Returns ms from now,
 * or undefined when absent or unparseable.
 */
export function parseRetryAfter(
  value: string | undefined,
  now: number
): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names a weekday and a month; Date.parse alone would take '-5'.
  if (!/^[A-Za-z]{3},? /.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** The error code that fits an HTTP status (and the body's first OCI code). */
export function errorCodeForStatus(
  status: number,
  ociCode: string | undefined
): ErrorCode {
  if (ociCode === 'DENIED') return 'REGISTRY_DENIED';
  if (ociCode === 'UNSUPPORTED') return 'REGISTRY_UNSUPPORTED';
  if (ociCode === 'TOOMANYREQUESTS') return 'REGISTRY_UNAVAILABLE';
  switch (status) {
    case 401:
      return 'REGISTRY_UNAUTHORIZED';
    case 403:
      return 'REGISTRY_DENIED';
    case 404:
      return 'REGISTRY_NOT_FOUND';
    case 405:
    case 501:
      return 'REGISTRY_UNSUPPORTED';
    case 409:
    case 412:
      return 'REGISTRY_CONFLICT';
    case 413:
      return 'REGISTRY_TOO_LARGE';
    default:
      if (RETRY_STATUSES.has(status)) return 'REGISTRY_UNAVAILABLE';
      return 'REGISTRY_PROTOCOL';
  }
}

/** First error of a distribution-spec error body, leniently parsed. */
export function decodeErrorBody(
  body: Buffer,
  contentType: string | undefined
): { ociCode?: string; detail?: string } {
  const text = body.subarray(0, ERROR_BODY_CAP).toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) {
      const errors = (parsed as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length > 0) {
        const first = errors[0] as { code?: unknown; message?: unknown };
        const out: { ociCode?: string; detail?: string } = {};
        if (typeof first.code === 'string' && /^[A-Z_]{1,64}$/.test(first.code))
          out.ociCode = first.code;
        if (typeof first.message === 'string')
          out.detail = cleanDetail(first.message);
        return out;
      }
      // Token servers answer {"details": "..."} or {"error": "..."}.
      const p = parsed as { details?: unknown; error?: unknown };
      const d = typeof p.details === 'string' ? p.details : p.error;
      if (typeof d === 'string') return { detail: cleanDetail(d) };
    }
  } catch {
    // not JSON: fall through
  }
  if (contentType !== undefined && /^text\/plain/i.test(contentType)) {
    const line = text.split('\n', 1)[0] ?? '';
    if (line.trim() !== '') return { detail: cleanDetail(line) };
  }
  return {};
}

function cleanDetail(s: string): string {
  // eslint-disable-next-line no-control-regex
  const one = s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return redact(one.length > 200 ? `${one.slice(0, 200)}…` : one);
}

/** A RegistryError describing a non-success response. */
export function errorFromResponse(
  res: TransportResponse,
  what: string
): RegistryError {
  const { ociCode, detail } = decodeErrorBody(
    res.body,
    headerValue(res.headers, 'content-type')
  );
  const code = errorCodeForStatus(res.status, ociCode);
  let msg = `${what}: ${ociCode ?? `HTTP ${res.status}`}`;
  if (detail !== undefined && detail !== '' && detail !== ociCode)
    msg += ` (${detail})`;
  if (res.leftOrigin) msg += ` from ${safeUrl(res.url)}`;
  const details: { status: number; ociCode?: string; retryable: boolean } = {
    status: res.status,
    retryable: RETRY_STATUSES.has(res.status) || ociCode === 'TOOMANYREQUESTS',
  };
  if (ociCode !== undefined) details.ociCode = ociCode;
  return new RegistryError(code, msg, details);
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

export class Transport {
  readonly stats = { requests: 0 };
  readonly #agent: Agent;
  readonly #opts: TransportOptions;
  readonly #maxAttempts: number;
  readonly #baseDelay: number;
  readonly #maxDelay: number;
  readonly #maxRetryAfter: number;
  readonly #timeout: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;

  constructor(opts: TransportOptions = {}) {
    this.#opts = opts;
    this.#timeout = opts.timeoutMs ?? 30_000;
    const connect: Record<string, unknown> = { timeout: this.#timeout };
    if (opts.insecureSkipTlsVerify === true)
      connect['rejectUnauthorized'] = false;
    if (opts.ca !== undefined) {
      // Node replaces its default roots when `ca` is given; keep both.
      connect['ca'] = [
        ...rootCertificates,
        ...(typeof opts.ca === 'string' ? [opts.ca] : opts.ca),
      ];
    }
    this.#agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      connections: 8,
      connect,
    });
    this.#maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 4);
    this.#baseDelay = opts.retry?.baseDelayMs ?? 500;
    this.#maxDelay = opts.retry?.maxDelayMs ?? 30_000;
    this.#maxRetryAfter = opts.retry?.maxRetryAfterMs ?? 60_000;
    this.#sleep =
      opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = opts.random ?? Math.random;
    this.#now = opts.now ?? Date.now;
  }

  get allowHttp(): boolean {
    return this.#opts.allowHttp === true;
  }

  /** May we speak plain HTTP to this host? */
  httpAllowedFor(hostname: string): boolean {
    return this.allowHttp || isLoopbackHost(hostname);
  }

  log(level: LogEvent['level'], message: string): void {
    this.#opts.log?.({ level, message });
  }

  /** Sends a request: redirects by hand, retries, capped body read. */
  async send(req: TransportRequest): Promise<TransportResponse> {
    const origin = req.url;
    let url = req.url;
    let method = req.method;
    let body = req.body;
    let leftOrigin = false;
    for (let hop = 0; ; hop++) {
      if (url.protocol === 'http:' && !this.httpAllowedFor(url.hostname)) {
        throw new RegistryError(
          'REGISTRY_INSECURE_REFUSED',
          `${req.what}: refusing plain http to ${url.host}; use --allow-http-registry to allow it`
        );
      }
      if (!sameOrigin(url, origin)) leftOrigin = true;
      const headers: Record<string, string> = { ...req.headers };
      if (!leftOrigin && req.credentials)
        Object.assign(headers, req.credentials);
      if (body === undefined && method !== 'GET' && method !== 'HEAD') {
        headers['content-length'] = '0';
      }
      const res = await this.#sendWithRetry(
        { ...req, method, url, body },
        headers,
        leftOrigin
      );
      const location = headerValue(res.headers, 'location');
      const isRedirect = [301, 302, 303, 307, 308].includes(res.status);
      if (!isRedirect || req.followRedirects === false || !location) {
        return res;
      }
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${req.what}: more than ${MAX_REDIRECTS} redirects`,
          { status: res.status }
        );
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RegistryError(
          'REGISTRY_PROTOCOL',
          `${req.what}: malformed redirect location`,
          { status: res.status }
        );
      }
      this.#checkRedirect(req.what, origin, url, next);
      if (
        res.status === 303 ||
        ((res.status === 301 || res.status === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  #checkRedirect(what: string, origin: URL, from: URL, to: URL): void {
    if (to.protocol !== 'https:' && to.protocol !== 'http:') {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: redirect to unsupported scheme ${to.protocol}`
      );
    }
    if (from.protocol === 'https:' && to.protocol === 'http:') {
      throw new RegistryError(
        'REGISTRY_INSECURE_REFUSED',
        `${what}: refusing redirect from https to plain http (${to.host})`
      );
    }
    // A registry that is not itself local may not send us to loopback,
    // link-local or private addresses (metadata services, local daemons).
    if (!isPrivateAddress(origin.hostname) && isPrivateAddress(to.hostname)) {
      throw new RegistryError(
        'REGISTRY_PROTOCOL',
        `${what}: refusing redirect from ${origin.host} to private address ${to.host}`
      );
    }
  }

  async #sendWithRetry(
    req: TransportRequest & { method: HttpMethod },
    headers: Record<string, string>,
    leftOrigin: boolean
  ): Promise<TransportResponse> {
    const retryable =
      req.retry ?? (req.method !== 'POST' && req.method !== 'PATCH');
    // A request that is not safe to repeat is still retried when the server
    // provably did not process it: 429 (rate limited) or a refused connection.
    const safeToRepeat = (
      status: number | undefined,
      err?: unknown
    ): boolean =>
      retryable
        ? status !== undefined
          ? RETRY_STATUSES.has(status)
          : isTransientNetworkError(err)
        : req.retry !== false &&
          (status === 429 ||
            (status === undefined && errCode(err) === 'ECONNREFUSED'));
    const attempts = this.#maxAttempts;
    for (let attempt = 1; ; attempt++) {
      let res: TransportResponse;
      try {
        res = await this.#once(req, headers, leftOrigin);
      } catch (err) {
        if (err instanceof RegistryError) throw err;
        if (attempt < attempts && safeToRepeat(undefined, err)) {
          const delay = this.#backoff(attempt);
          this.log(
            'debug',
            `${req.what}: ${errCode(err) || 'network error'}, retrying in ${delay} ms`
          );
          await this.#sleep(delay);
          continue;
        }
        throw this.#networkError(req, err);
      }
      if (attempt < attempts && safeToRepeat(res.status)) {
        const ra = parseRetryAfter(
          headerValue(res.headers, 'retry-after'),
          this.#now()
        );
        if (ra !== undefined && ra > this.#maxRetryAfter) {
          this.log(
            'warn',
            `${req.what}: server asks to wait ${Math.ceil(ra / 1000)} s, giving up`
          );
          return res;
        }
        const delay = ra ?? this.#backoff(attempt);
        this.log(
          'debug',
          `${req.what}: HTTP ${res.status}, retrying in ${delay} ms`
        );
        await this.#sleep(delay);
        continue;
      }
      return res;
    }
  }

  /** Full-jitter exponential backoff for the given failed attempt (1-based). */
  #backoff(attempt: number): number {
    const ceiling = Math.min(
      this.#maxDelay,
      this.#baseDelay * 2 ** (attempt - 1)
    );
    return Math.floor(this.#random() * ceiling);
  }

  #networkError(req: TransportRequest, err: unknown): RegistryError {
    const kind = classifyNetworkError(err);
    const host = req.url.host;
    const code = errCode(err);
    switch (kind) {
      case 'tls-untrusted':
        return new RegistryError(
          'REGISTRY_INSECURE_REFUSED',
          `${req.what}: tls certificate of ${host} is not trusted (${code || 'verification failed'}); use --allow-insecure-registry to skip verification`,
          {},
          { cause: err }
        );
      case 'not-tls':
        return new RegistryError(
          'REGISTRY_UNAVAILABLE',
          `${req.what}: ${host} does not speak tls`,
          {},
          { cause: err }
        );
      case 'timeout':
        return new RegistryError(
          'REGISTRY_UNAVAILABLE',
          `${req.what}: ${host} timed out (${code})`,
          { retryable: true },
          { cause: err }
        );
      case 'refused':
        return new RegistryError(
          'REGISTRY_UNAVAILABLE',
          `${req.what}: cannot connect to ${host} (connection refused)`,
          { retryable: true },
          { cause: err }
        );
      case 'dns':
        return new RegistryError(
          'REGISTRY_UNAVAILABLE',
          `${req.what}: cannot resolve ${req.url.hostname}`,
          { retryable: true },
          { cause: err }
        );
      case 'other':
        return new RegistryError(
          'REGISTRY_UNAVAILABLE',
          `${req.what}: network error talking to ${host} (${redact(code || errMessage(err))})`,
          { retryable: isTransientNetworkError(err) },
          { cause: err }
        );
    }
  }

  async #once(
    req: TransportRequest & { method: HttpMethod },
    headers: Record<string, string>,
    leftOrigin: boolean
  ): Promise<TransportResponse> {
    const h: Record<string, string> = {
      'user-agent': this.#opts.userAgent ?? 'signet',
      ...headers,
    };
    if (req.body !== undefined) h['content-length'] = String(req.body.length);
    this.stats.requests++;
    const opts: Parameters<typeof request>[1] = {
      dispatcher: this.#agent,
      method: req.method,
      headers: h,
      headersTimeout: this.#timeout,
      bodyTimeout: this.#timeout,
    };
    if (req.body !== undefined)
      opts.body = Buffer.from(
        req.body.buffer,
        req.body.byteOffset,
        req.body.byteLength
      );
    const res = await request(req.url, opts);
    const status = res.statusCode;
    this.log('debug', `${req.method} ${safeUrl(req.url)} -> ${status}`);
    const rh = res.headers as Record<string, string | string[] | undefined>;
    let body: Buffer;
    if (req.method === 'HEAD') {
      await res.body.dump();
      body = Buffer.alloc(0);
    } else if (status >= 300 && status < 400) {
      await res.body.dump({ limit: ERROR_BODY_CAP });
      body = Buffer.alloc(0);
    } else if (status >= 400) {
      body = await readCapped(res.body, ERROR_BODY_CAP, 'truncate');
    } else {
      const cap = req.maxBodyBytes ?? DEFAULT_BODY_CAP;
      const declared = Number(headerValue(rh, 'content-length'));
      if (Number.isFinite(declared) && declared > cap) {
        discard(res.body);
        throw new RegistryError(
          'REGISTRY_TOO_LARGE',
          `${req.what}: response of ${declared} bytes is over the ${cap}-byte limit`,
          { status }
        );
      }
      body = await readCapped(res.body, cap, 'throw', req.what);
    }
    return { status, headers: rh, url: req.url, leftOrigin, body };
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** Stops reading a body; undici reports the abort as an error we expect. */
function discard(stream: {
  destroy(err?: Error): void;
  on?(event: 'error', fn: () => void): unknown;
}): void {
  stream.on?.('error', () => undefined);
  stream.destroy();
}

/**
 * Reads a body stream into memory, stopping at `cap` bytes: either failing
 * (REGISTRY_TOO_LARGE) or keeping the first `cap` bytes (error bodies).
 */
async function readCapped(
  stream: AsyncIterable<Buffer> & {
    destroy(err?: Error): void;
    on?(event: 'error', fn: () => void): unknown;
  },
  cap: number,
  mode: 'throw' | 'truncate',
  what = 'reading response'
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    if (total + chunk.length > cap) {
      if (mode === 'truncate') {
        chunks.push(chunk.subarray(0, cap - total));
        total = cap;
        discard(stream);
        break;
      }
      discard(stream);
      throw new RegistryError(
        'REGISTRY_TOO_LARGE',
        `${what}: response is over the ${cap}-byte limit`
      );
    }
    chunks.push(chunk);
    total += chunk.length;
  }
  return Buffer.concat(chunks, total);
}
