import { createPublicKey, type KeyObject } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import { SignetError, TlogError, UsageError } from '../errors.js';
import { redact } from '../core/redact.js';
import { decodeHexStrict } from '../core/encoding.js';
import { leafHash } from './merkle.js';
import { parseRekorLogEntry, type LogEntry } from './bundle.js';

/**
 * EDGE: a Rekor v1 REST client (spec §1) over undici 7.
 *
 * Every response is untrusted: bodies are read with a size cap, parsed once
 * into typed values (bundle.ts guards), and anything unusable becomes
 * TlogError TLOG_PROTOCOL — never a crash or an unchecked value. Entries
 * fetched by UUID or index are checked to BE that UUID or index; their
 * cryptographic verification is verify/tlog.ts's job (pure, offline).
 *
 * Retries (408, 429, 5xx except 501, network errors) apply to every call,
 * including createEntry: Rekor deduplicates on the leaf hash, so a retried
 * POST whose first attempt landed gets 409 and the existing entry is
 * fetched — the "409 on retry" problem users hit (spec §10.1).
 */

export interface LogEvent {
  readonly level: 'debug' | 'info' | 'warn';
  readonly message: string;
}

export interface RekorClientOptions {
  /** Per-attempt timeout (connect + headers + body). Default 30 s. */
  readonly timeoutMs?: number;
  readonly retry?: {
    readonly maxAttempts?: number;
    readonly baseDelayMs?: number;
    readonly maxDelayMs?: number;
  };
  /** Largest response body accepted. Default 8 MiB. */
  readonly maxResponseBytes?: number;
  readonly userAgent?: string;
  readonly log?: (event: LogEvent) => void;
  /** Injected for tests: how to wait between attempts. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Use this dispatcher instead of a private Agent (not closed by close()). */
  readonly dispatcher?: Dispatcher;
}

export interface LogInfoShard {
  readonly rootHash: Buffer;
  readonly treeSize: bigint;
  readonly signedTreeHead: string;
  readonly treeID: string;
}

export interface LogInfo extends LogInfoShard {
  readonly inactiveShards: readonly LogInfoShard[];
}

export interface ConsistencyProof {
  /** Root at lastSize. */
  readonly rootHash: Buffer;
  readonly hashes: readonly Buffer[];
}

export interface SearchIndexQuery {
  /** `sha256:<hex>` (or bare hex). */
  readonly hash?: string;
  readonly publicKey?: { readonly format: string; readonly content: string };
  readonly email?: string;
  readonly subject?: string;
  readonly operator?: 'and' | 'or';
}

export interface CreateEntryResult {
  readonly entry: LogEntry;
  /** False when the log answered 409 and the existing entry was fetched. */
  readonly created: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RESPONSE = 8 * 1024 * 1024;
const MAX_ERROR_TEXT = 300;
const ENTRY_ID_RE = /^(?:[0-9a-f]{16})?[0-9a-f]{64}$/;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

class RetryableStatus extends Error {
  constructor(
    readonly response: RawResponse,
    readonly retryAfterMs: number | undefined
  ) {
    super(`status ${response.status}`);
  }
}

function isRetryableStatus(s: number): boolean {
  return s === 408 || s === 429 || (s >= 500 && s !== 501);
}

function header(r: RawResponse, name: string): string | undefined {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Rekor's `{code, message}` error text, cleaned for a one-line message. */
function serverMessage(body: Buffer): string {
  let text = body.toString('utf8');
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && 'message' in v) {
      const m = v.message;
      if (typeof m === 'string') text = m;
    }
  } catch {
    // not JSON: use the text as is
  }
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > MAX_ERROR_TEXT
    ? `${text.slice(0, MAX_ERROR_TEXT)}…`
    : text;
}

function retryAfterMs(r: RawResponse): number | undefined {
  const v = header(r, 'retry-after');
  if (v === undefined) return undefined;
  if (/^\d{1,6}$/.test(v.trim())) return Number(v.trim()) * 1000;
  return undefined;
}

/**
 * What orchestrators (sign, verify) need from a log: RekorClient implements
 * it over HTTP; tests may pass another implementation.
 */
export interface TlogClient {
  createEntry(proposed: unknown): Promise<CreateEntryResult>;
  getEntryByUuid(uuid: string): Promise<LogEntry>;
  getEntryByIndex(logIndex: bigint | number): Promise<LogEntry>;
  retrieveEntries(uuids: readonly string[]): Promise<LogEntry[]>;
  searchIndex(query: SearchIndexQuery): Promise<string[]>;
}

export class RekorClient implements TlogClient {
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;
  private readonly log: ((e: LogEvent) => void) | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  /** HTTP requests sent, retries included. */
  readonly stats = { requests: 0 };

  constructor(baseUrl: string, opts: RekorClientOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch (e) {
      throw new UsageError(`invalid log URL ${redact(baseUrl)}`, {
        cause: e,
      });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new UsageError(`log URL ${redact(baseUrl)} is not http(s)`);
    }
    if (
      url.username !== '' ||
      url.password !== '' ||
      url.search !== '' ||
      url.hash !== ''
    ) {
      throw new UsageError(
        `log URL ${redact(baseUrl)} must not carry credentials, a query or a fragment`
      );
    }
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.baseUrl = this.origin + this.basePath;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAttempts = Math.max(1, opts.retry?.maxAttempts ?? 4);
    this.baseDelayMs = opts.retry?.baseDelayMs ?? 250;
    this.maxDelayMs = opts.retry?.maxDelayMs ?? 8_000;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE;
    this.userAgent = opts.userAgent ?? 'signet';
    this.log = opts.log;
    this.sleep =
      opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    if (opts.dispatcher !== undefined) {
      this.dispatcher = opts.dispatcher;
      this.ownsDispatcher = false;
    } else {
      this.dispatcher = new Agent({
        connect: { timeout: this.timeoutMs },
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        keepAliveTimeout: 10_000,
      });
      this.ownsDispatcher = true;
    }
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  // ------------------------------------------------------------ transport

  private async once(
    method: 'GET' | 'POST',
    path: string,
    what: string,
    body?: Buffer
  ): Promise<RawResponse> {
    this.stats.requests++;
    const headers: Record<string, string> = {
      'user-agent': this.userAgent,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({
        origin: this.origin,
        path: this.basePath + path,
        method,
        headers,
        ...(body !== undefined && { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new TlogError(
        'TLOG_UNAVAILABLE',
        `${what}: ${this.describe(e)}`,
        undefined,
        { cause: e }
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        const b = chunk as Buffer;
        size += b.length;
        if (size > this.maxResponseBytes) {
          res.body.destroy();
          throw new TlogError(
            'TLOG_PROTOCOL',
            `${what}: response larger than ${this.maxResponseBytes} bytes`,
            res.statusCode
          );
        }
        chunks.push(b);
      }
    } catch (e) {
      if (e instanceof TlogError) throw e;
      throw new TlogError(
        'TLOG_UNAVAILABLE',
        `${what}: reading the response: ${this.describe(e)}`,
        res.statusCode,
        { cause: e }
      );
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      body: Buffer.concat(chunks),
    };
  }

  private describe(e: unknown): string {
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      return redact(
        typeof code === 'string' ? `${code} ${e.message}` : e.message
      );
    }
    return 'request failed';
  }

  /**
   * One call with retries. Resolves with the final response whatever its
   * status (callers map statuses); throws TLOG_UNAVAILABLE when the log
   * stays unreachable or keeps answering retryable statuses.
   */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    what: string,
    body?: Buffer
  ): Promise<RawResponse> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        const r = await this.once(method, path, what, body);
        if (!isRetryableStatus(r.status)) return r;
        throw new RetryableStatus(r, retryAfterMs(r));
      } catch (e) {
        const retryable =
          e instanceof RetryableStatus ||
          (e instanceof TlogError && e.code === 'TLOG_UNAVAILABLE');
        if (!retryable) throw e;
        last = e;
        if (attempt === this.maxAttempts) break;
        const backoff = Math.min(
          this.maxDelayMs,
          this.baseDelayMs * 2 ** (attempt - 1)
        );
        const hinted =
          e instanceof RetryableStatus ? e.retryAfterMs : undefined;
        const delay = Math.min(
          this.maxDelayMs,
          hinted ?? backoff * (0.5 + Math.random() / 2)
        );
        this.log?.({
          level: 'warn',
          message: `${what}: ${e instanceof RetryableStatus ? `status ${e.response.status}` : (e as Error).message}; retry ${attempt}/${this.maxAttempts - 1} in ${Math.round(delay)} ms`,
        });
        await this.sleep(delay);
      }
    }
    if (last instanceof RetryableStatus) {
      const r = last.response;
      throw new TlogError(
        'TLOG_UNAVAILABLE',
        `${what}: log answered ${r.status} after ${this.maxAttempts} attempts: ${serverMessage(r.body)}`,
        r.status
      );
    }
    throw last;
  }

  private json(r: RawResponse, what: string): unknown {
    try {
      return JSON.parse(r.body.toString('utf8'));
    } catch (e) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: response is not JSON`,
        r.status,
        { cause: e }
      );
    }
  }

  /** Maps a non-2xx status to the typed error. */
  private statusError(r: RawResponse, what: string): TlogError {
    const msg = serverMessage(r.body);
    if (r.status === 404)
      return new TlogError('TLOG_NOT_FOUND', `${what}: not found`, 404);
    if (r.status >= 400 && r.status < 500) {
      return new TlogError(
        'TLOG_REJECTED',
        `${what}: log answered ${r.status}${msg ? `: ${msg}` : ''}`,
        r.status
      );
    }
    if (r.status === 501) {
      return new TlogError(
        'TLOG_UNAVAILABLE',
        `${what}: not enabled on this log${msg ? `: ${msg}` : ''}`,
        501
      );
    }
    return new TlogError(
      'TLOG_PROTOCOL',
      `${what}: unexpected status ${r.status}`,
      r.status
    );
  }

  private entryFrom(value: unknown, status: number, what: string): LogEntry {
    try {
      return parseRekorLogEntry(value);
    } catch (e) {
      if (e instanceof SignetError) {
        throw new TlogError('TLOG_PROTOCOL', `${what}: ${e.message}`, status, {
          cause: e,
        });
      }
      throw e;
    }
  }

  // ------------------------------------------------------------- API

  /**
   * POST /api/v1/log/entries. 201 → the new entry; 409 → the existing entry,
   * fetched by the ID in `Location` (or in the message of older servers).
   * The returned entry's body is checked to be a canonical entry for the
   * proposal's digest only by verification (verifyEntryBodyBinding).
   */
  async createEntry(proposed: unknown): Promise<CreateEntryResult> {
    const what = 'creating log entry';
    const body = Buffer.from(JSON.stringify(proposed), 'utf8');
    const r = await this.call('POST', '/api/v1/log/entries', what, body);
    if (r.status === 201) {
      const entry = this.entryFrom(this.json(r, what), r.status, what);
      this.checkLeaf(entry, r.status, what);
      return { entry, created: true };
    }
    if (r.status === 409) {
      const id = this.conflictId(r);
      if (id === undefined) {
        throw new TlogError(
          'TLOG_PROTOCOL',
          `${what}: 409 without the existing entry's ID`,
          409
        );
      }
      this.log?.({
        level: 'info',
        message: `entry already in the log as ${id}; fetching it`,
      });
      return { entry: await this.getEntryByUuid(id), created: false };
    }
    if (r.status >= 200 && r.status < 300) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: unexpected status ${r.status}`,
        r.status
      );
    }
    throw this.statusError(r, what);
  }

  /** The entry ID of a 409: `Location: …/entries/<id>`, else `… with UUID <id>`. */
  private conflictId(r: RawResponse): string | undefined {
    const loc = header(r, 'location');
    const fromLoc =
      loc !== undefined
        ? /\/entries\/([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.exec(
            loc.split('?')[0] ?? ''
          )
        : null;
    if (fromLoc) return (fromLoc[1] as string).toLowerCase();
    const fromMsg = /UUID ([0-9a-fA-F]{80}|[0-9a-fA-F]{64})\b/.exec(
      serverMessage(r.body)
    );
    return fromMsg ? (fromMsg[1] as string).toLowerCase() : undefined;
  }

  private checkLeaf(entry: LogEntry, status: number, what: string): void {
    const leaf = leafHash(entry.body).toString('hex');
    if (entry.uuid !== undefined && entry.uuid.slice(-64) !== leaf) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: entry ID ${entry.uuid} is not the body's leaf hash`,
        status
      );
    }
  }

  /** GET /api/v1/log/entries/{uuid}; the answer must be that entry. */
  async getEntryByUuid(uuid: string): Promise<LogEntry> {
    const id = uuid.toLowerCase();
    if (!ENTRY_ID_RE.test(id)) {
      throw new UsageError(
        `entry UUID ${uuid.slice(0, 100)} is not 64 or 80 hex`
      );
    }
    const what = `fetching log entry ${id}`;
    const r = await this.call('GET', `/api/v1/log/entries/${id}`, what);
    if (r.status !== 200) throw this.statusError(r, what);
    const entry = this.entryFrom(this.json(r, what), r.status, what);
    this.checkLeaf(entry, r.status, what);
    // A 64-hex UUID matches any tree; an 80-hex ID must come back unchanged.
    if (
      entry.uuid === undefined ||
      entry.uuid.slice(-64) !== id.slice(-64) ||
      (id.length === 80 && entry.uuid !== id)
    ) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: log returned entry ${entry.uuid ?? '?'}`,
        r.status
      );
    }
    return entry;
  }

  /** GET /api/v1/log/entries?logIndex=N (global index). */
  async getEntryByIndex(logIndex: bigint | number): Promise<LogEntry> {
    const index = BigInt(logIndex);
    if (
      index < 0n ||
      (typeof logIndex === 'number' && !Number.isSafeInteger(logIndex))
    ) {
      throw new UsageError(
        `log index ${String(logIndex)} is not a non-negative integer`
      );
    }
    const what = `fetching log entry at index ${index}`;
    const r = await this.call(
      'GET',
      `/api/v1/log/entries?logIndex=${index}`,
      what
    );
    if (r.status !== 200) throw this.statusError(r, what);
    const entry = this.entryFrom(this.json(r, what), r.status, what);
    this.checkLeaf(entry, r.status, what);
    if (entry.logIndex !== index) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: log returned index ${entry.logIndex}`,
        r.status
      );
    }
    return entry;
  }

  /** POST /api/v1/log/entries/retrieve by entry UUIDs (≤ 10); misses are omitted. */
  async retrieveEntries(uuids: readonly string[]): Promise<LogEntry[]> {
    const what = 'retrieving log entries';
    const ids = uuids.map((u) => u.toLowerCase());
    if (ids.length > 10 || ids.some((i) => !ENTRY_ID_RE.test(i))) {
      throw new UsageError(
        'retrieve takes at most 10 entry UUIDs of 64 or 80 hex'
      );
    }
    const r = await this.call(
      'POST',
      '/api/v1/log/entries/retrieve',
      what,
      Buffer.from(JSON.stringify({ entryUUIDs: ids }))
    );
    if (r.status !== 200) throw this.statusError(r, what);
    const v = this.json(r, what);
    if (!Array.isArray(v) || v.length > ids.length) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: expected an array of at most ${ids.length} entries`,
        r.status
      );
    }
    return v.map((e) => {
      const entry = this.entryFrom(e, r.status, what);
      this.checkLeaf(entry, r.status, what);
      if (!ids.some((id) => id.slice(-64) === entry.uuid?.slice(-64))) {
        throw new TlogError(
          'TLOG_PROTOCOL',
          `${what}: log returned an entry that was not asked for`,
          r.status
        );
      }
      return entry;
    });
  }

  /** POST /api/v1/index/retrieve: entry UUIDs for a hash, key or subject. */
  async searchIndex(query: SearchIndexQuery): Promise<string[]> {
    const what = 'searching the log index';
    if (
      query.hash === undefined &&
      query.publicKey === undefined &&
      query.email === undefined &&
      query.subject === undefined
    ) {
      throw new UsageError(
        'search needs a hash, a public key, an email or a subject'
      );
    }
    const r = await this.call(
      'POST',
      '/api/v1/index/retrieve',
      what,
      Buffer.from(JSON.stringify(query))
    );
    if (r.status !== 200) throw this.statusError(r, what);
    const v = this.json(r, what);
    if (
      !Array.isArray(v) ||
      v.length > 100_000 ||
      v.some((x) => typeof x !== 'string' || !ENTRY_ID_RE.test(x.toLowerCase()))
    ) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: expected an array of entry UUIDs`,
        r.status
      );
    }
    return (v as string[]).map((x) => x.toLowerCase());
  }

  /** GET /api/v1/log. The checkpoint is NOT verified here (see verifyCheckpoint). */
  async getLogInfo(): Promise<LogInfo> {
    const what = 'fetching log info';
    const r = await this.call('GET', '/api/v1/log', what);
    if (r.status !== 200) throw this.statusError(r, what);
    const v = this.json(r, what);
    const shard = (x: unknown, w: string): LogInfoShard => {
      if (typeof x !== 'object' || x === null || Array.isArray(x)) {
        throw new TlogError('TLOG_PROTOCOL', `${w}: not an object`, r.status);
      }
      const o = x as Record<string, unknown>;
      const rootHash =
        typeof o['rootHash'] === 'string'
          ? decodeHexStrict(o['rootHash'])
          : undefined;
      const size = o['treeSize'];
      if (
        rootHash?.length !== 32 ||
        typeof size !== 'number' ||
        !Number.isSafeInteger(size) ||
        size < 0 ||
        typeof o['signedTreeHead'] !== 'string' ||
        typeof o['treeID'] !== 'string' ||
        !/^\d{1,20}$/.test(o['treeID'])
      ) {
        throw new TlogError(
          'TLOG_PROTOCOL',
          `${w}: malformed log info`,
          r.status
        );
      }
      return {
        rootHash,
        treeSize: BigInt(size),
        signedTreeHead: o['signedTreeHead'],
        treeID: o['treeID'],
      };
    };
    const top = shard(v, what);
    const inactive = (v as Record<string, unknown>)['inactiveShards'];
    if (
      inactive !== undefined &&
      inactive !== null &&
      (!Array.isArray(inactive) || inactive.length > 1000)
    ) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: inactiveShards is not an array`,
        r.status
      );
    }
    return {
      ...top,
      inactiveShards: ((inactive ?? []) as unknown[]).map((s, i) =>
        shard(s, `${what}: inactive shard ${i}`)
      ),
    };
  }

  /** GET /api/v1/log/publicKey[?treeID=]: the log's PEM public key. */
  async getPublicKey(
    treeId?: string
  ): Promise<{ pem: string; key: KeyObject }> {
    const what = 'fetching the log public key';
    if (treeId !== undefined && !/^\d{1,20}$/.test(treeId)) {
      throw new UsageError(`tree ID ${treeId.slice(0, 40)} is not decimal`);
    }
    const r = await this.call(
      'GET',
      `/api/v1/log/publicKey${treeId !== undefined ? `?treeID=${treeId}` : ''}`,
      what
    );
    if (r.status !== 200) throw this.statusError(r, what);
    const pem = r.body.toString('utf8');
    let key: KeyObject;
    try {
      if (!pem.includes('-----BEGIN PUBLIC KEY-----'))
        throw new Error('no PUBLIC KEY block');
      key = createPublicKey(pem);
    } catch (e) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: not a PEM public key`,
        r.status,
        { cause: e }
      );
    }
    return { pem, key };
  }

  /** GET /api/v1/log/proof: consistency proof between two sizes (unverified). */
  async getConsistencyProof(
    firstSize: bigint | number,
    lastSize: bigint | number,
    treeId?: string
  ): Promise<ConsistencyProof> {
    const what = `fetching consistency proof ${firstSize}→${lastSize}`;
    const a = BigInt(firstSize);
    const b = BigInt(lastSize);
    if (a < 1n || b < a)
      throw new UsageError(`${what}: need 1 ≤ firstSize ≤ lastSize`);
    if (treeId !== undefined && !/^\d{1,20}$/.test(treeId)) {
      throw new UsageError(`tree ID ${treeId.slice(0, 40)} is not decimal`);
    }
    const q = `firstSize=${a}&lastSize=${b}${treeId !== undefined ? `&treeID=${treeId}` : ''}`;
    const r = await this.call('GET', `/api/v1/log/proof?${q}`, what);
    if (r.status !== 200) throw this.statusError(r, what);
    const v = this.json(r, what);
    const o = (typeof v === 'object' && v !== null ? v : {}) as Record<
      string,
      unknown
    >;
    const rootHash =
      typeof o['rootHash'] === 'string'
        ? decodeHexStrict(o['rootHash'])
        : undefined;
    const hashes = o['hashes'] ?? [];
    if (
      rootHash?.length !== 32 ||
      !Array.isArray(hashes) ||
      hashes.length > 128
    ) {
      throw new TlogError(
        'TLOG_PROTOCOL',
        `${what}: malformed consistency proof`,
        r.status
      );
    }
    return {
      rootHash,
      hashes: hashes.map((h) => {
        const bytes = typeof h === 'string' ? decodeHexStrict(h) : undefined;
        if (bytes?.length !== 32)
          throw new TlogError(
            'TLOG_PROTOCOL',
            `${what}: malformed proof hash`,
            r.status
          );
        return bytes;
      }),
    };
  }
}
