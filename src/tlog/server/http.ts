/**
 * EDGE: the Rekor v1 REST API over node:http (spec §1), in front of a
 * TransparencyLog. Every failure goes through one errorToResponse().
 *
 * Shapes and statuses follow Rekor: 201 + Location + ETag on create, 409 +
 * Location on a duplicate, 400 `{"code":400,"message":"error processing
 * entry: …"}` for invalid entries, 404 with an empty body for misses, 413
 * above the body limit, 422 for request validation (go-openapi codes ≥ 600
 * in the body) and for more than 10 search terms.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignetError, TlogError } from '../../errors.js';
import { decodeBase64Strict } from '../../core/encoding.js';
import { parseStrictJson, type JsonValue } from '../../core/strict-json.js';
import {
  canonicalizeEntry,
  parseEntryId,
  publicKeyIndexKey,
} from '../entry.js';
import { DuplicateEntryError, type TransparencyLog } from './log.js';
import { ValidationPool } from './validate-pool.js';

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Default request body limit (bytes): Rekor v2's, generous for v1 entries. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_SEARCH_TERMS = 10;
const ENTRY_ID_PATTERN = '^([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$';
const ENTRY_PATH = '/api/v1/log/entries';

/** go-openapi validation codes (errors/schema.go): always HTTP 422. */
const enum Validation {
  InvalidType = 601,
  Required = 602,
  Pattern = 605,
  Max = 608,
  Min = 609,
}

/** A request that fails parameter validation: 422 with a go-openapi code. */
class ValidationFailure extends TlogError {
  override name = 'ValidationFailure';
  constructor(
    readonly apiCode: number,
    message: string
  ) {
    super('TLOG_REJECTED', message, 422);
  }
}

function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {}
): HttpResponse {
  return {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: `${JSON.stringify(value)}\n`,
  };
}

const NOT_FOUND: HttpResponse = { status: 404, headers: {}, body: '' };

/**
 * The one mapping from errors to Rekor error responses. Unknown errors are
 * 500 with Rekor's generic message (details stay in the server log).
 */
export function errorToResponse(err: unknown): HttpResponse {
  if (err instanceof DuplicateEntryError) {
    return json(
      409,
      { code: 409, message: err.message },
      { Location: `${ENTRY_PATH}/${err.entryId}` }
    );
  }
  if (err instanceof ValidationFailure) {
    return json(422, { code: err.apiCode, message: err.message });
  }
  if (
    err instanceof TlogError &&
    err.status !== undefined &&
    err.status < 500
  ) {
    return json(err.status, { code: err.status, message: err.message });
  }
  if (err instanceof TlogError && err.status === 503) {
    return json(
      503,
      { code: 503, message: err.message },
      { 'Retry-After': '1' }
    );
  }
  return json(500, {
    code: 500,
    message: 'unexpected error communicating with transparency log',
  });
}

function badRequest(message: string): TlogError {
  return new TlogError('TLOG_REJECTED', message, 400);
}

function parseBody(raw: Buffer): JsonValue {
  try {
    return parseStrictJson(raw, { what: 'request body', maxBytes: Infinity });
  } catch (e) {
    throw badRequest(
      `parsing body body from "" failed, because ${e instanceof Error ? e.message : String(e)}`
    );
  }
}

function isObj(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Non-negative integer query/body parameter, 422 otherwise. */
function intParam(
  v: string | undefined,
  name: string,
  min: number
): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?[0-9]+$/.test(v)) {
    throw new ValidationFailure(
      Validation.InvalidType,
      `${name} in query must be of type int64: "${v}"`
    );
  }
  const n = Number(v);
  if (n < min) {
    throw new ValidationFailure(
      Validation.Min,
      `${name} in query should be greater than or equal to ${min}`
    );
  }
  if (!Number.isSafeInteger(n)) {
    throw new ValidationFailure(
      Validation.Max,
      `${name} in query is too large`
    );
  }
  return n;
}

export interface LogHandlerOptions {
  /** Request body limit in bytes (413 above it). */
  readonly maxBodyBytes?: number;
  /** Called with unexpected errors (500s), for the server's log. */
  readonly onError?: (err: unknown) => void;
  /** Validate submitted entries on these worker threads (else inline). */
  readonly validationPool?: ValidationPool;
}

export type Request = {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Buffer;
};

/** Framework-free handler: request in, response out. */
export function createLogHandler(
  log: TransparencyLog,
  opts: LogHandlerOptions = {}
): (req: Request) => Promise<HttpResponse> {
  const routes = async (req: Request): Promise<HttpResponse> => {
    const { method, path, query } = req;
    if (path === ENTRY_PATH) {
      if (method === 'POST') return createEntry(req.body);
      if (method === 'GET') {
        const raw = query.get('logIndex') ?? undefined;
        if (raw === undefined) {
          throw new ValidationFailure(
            Validation.Required,
            'logIndex in query is required'
          );
        }
        const index = intParam(raw, 'logIndex', 0) as number;
        const e = await log.entryByIndex(index);
        return e === undefined ? NOT_FOUND : json(200, e);
      }
      return methodNotAllowed(method);
    }
    if (path === `${ENTRY_PATH}/retrieve`) {
      if (method !== 'POST') return methodNotAllowed(method);
      return retrieve(req.body);
    }
    if (path.startsWith(`${ENTRY_PATH}/`)) {
      if (method !== 'GET') return methodNotAllowed(method);
      const id = decodeURIComponent(path.slice(ENTRY_PATH.length + 1));
      const parsed = parseEntryId(id);
      if (parsed === undefined) {
        throw new ValidationFailure(
          Validation.Pattern,
          `entryUUID in path should match '${ENTRY_ID_PATTERN}'`
        );
      }
      const e = await log.entryByLeafHash(parsed.leafHash, parsed.treeId);
      return e === undefined ? NOT_FOUND : json(200, e);
    }
    if (path === '/api/v1/log') {
      if (method !== 'GET') return methodNotAllowed(method);
      return json(200, await log.info(), { 'Cache-Control': 'no-cache' });
    }
    if (path === '/api/v1/log/publicKey') {
      if (method !== 'GET') return methodNotAllowed(method);
      const treeId = query.get('treeID');
      if (treeId !== null && treeId !== log.treeId.toString()) {
        throw badRequest(`unknown treeID ${treeId}`);
      }
      return {
        status: 200,
        headers: { 'Content-Type': 'application/x-pem-file' },
        body: log.publicKeyPem,
      };
    }
    if (path === '/api/v1/log/proof') {
      if (method !== 'GET') return methodNotAllowed(method);
      const treeId = query.get('treeID');
      if (treeId !== null && treeId !== log.treeId.toString()) {
        throw badRequest(`unknown treeID ${treeId}`);
      }
      const first =
        intParam(query.get('firstSize') ?? undefined, 'firstSize', 1) ?? 1;
      const last = intParam(query.get('lastSize') ?? undefined, 'lastSize', 1);
      if (last === undefined) {
        throw new ValidationFailure(
          Validation.Required,
          'lastSize in query is required'
        );
      }
      return json(200, await log.consistencyProof(first, last));
    }
    if (path === '/api/v1/index/retrieve') {
      if (method !== 'POST') return methodNotAllowed(method);
      return searchIndex(req.body);
    }
    return json(404, { code: 404, message: `path ${path} was not found` });
  };

  const methodNotAllowed = (method: string): HttpResponse =>
    json(405, {
      code: 405,
      message: `method ${method} is not allowed, but [GET,POST] are`,
    });

  const createEntry = async (raw: Buffer): Promise<HttpResponse> => {
    let entry;
    if (opts.validationPool !== undefined) {
      entry = await opts.validationPool.canonicalize(raw);
    } else {
      const proposed = parseBody(raw);
      try {
        entry = canonicalizeEntry(proposed);
      } catch (e) {
        if (e instanceof TlogError && e.status === 400) {
          throw badRequest(`error processing entry: ${e.message}`);
        }
        throw e;
      }
    }
    const created = await log.append(entry);
    const id = Object.keys(created)[0] as string;
    return json(201, created, {
      Location: `${ENTRY_PATH}/${id}`,
      ETag: id,
    });
  };

  const retrieve = async (raw: Buffer): Promise<HttpResponse> => {
    const q = parseBody(raw);
    if (!isObj(q)) throw badRequest('search query must be an object');
    const list = (name: string): JsonValue[] => {
      const v = q[name];
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v)) {
        throw new ValidationFailure(
          Validation.InvalidType,
          `${name} in body must be of type array`
        );
      }
      return v;
    };
    const uuids = list('entryUUIDs');
    const indexes = list('logIndexes');
    const entries = list('entries');
    if (uuids.length + indexes.length + entries.length > MAX_SEARCH_TERMS) {
      return json(422, {
        code: 422,
        message: `more than max allowed ${MAX_SEARCH_TERMS} entries in request`,
      });
    }
    const out: unknown[] = [];
    for (const u of uuids) {
      const parsed = typeof u === 'string' ? parseEntryId(u) : undefined;
      if (parsed === undefined) {
        throw new ValidationFailure(
          Validation.Pattern,
          `entryUUIDs in body should match '${ENTRY_ID_PATTERN}'`
        );
      }
      const e = await log.entryByLeafHash(parsed.leafHash, parsed.treeId);
      if (e !== undefined) out.push(e);
    }
    for (const i of indexes) {
      if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) {
        throw new ValidationFailure(
          Validation.Min,
          'logIndexes in body should be greater than or equal to 0'
        );
      }
      const e = await log.entryByIndex(i);
      if (e !== undefined) out.push(e);
    }
    for (const p of entries) {
      let c;
      try {
        c = canonicalizeEntry(p, { lookup: true });
      } catch (e) {
        if (e instanceof TlogError && e.status === 400) {
          throw badRequest(`error processing entry: ${e.message}`);
        }
        throw e;
      }
      const e = await log.entryByLeafHash(c.leafHash);
      if (e !== undefined) out.push(e);
    }
    return json(200, out);
  };

  const searchIndex = async (raw: Buffer): Promise<HttpResponse> => {
    const q = parseBody(raw);
    if (!isObj(q)) throw badRequest('search query must be an object');
    const keys: string[] = [];
    const hash = q['hash'];
    if (hash !== undefined && hash !== '') {
      if (typeof hash !== 'string') throw badRequest('hash must be a string');
      const m = /^(?:(sha256|sha384|sha512|sha1):)?([0-9a-fA-F]+)$/.exec(hash);
      const lengths: Record<string, string> = {
        40: 'sha1',
        64: 'sha256',
        96: 'sha384',
        128: 'sha512',
      };
      const hex = m?.[2] ?? '';
      const alg = m?.[1] ?? lengths[hex.length];
      if (m === null || alg === undefined || lengths[hex.length] !== alg) {
        throw new ValidationFailure(
          Validation.Pattern,
          'hash in body should be a hex digest with an optional sha256:/sha512:/sha1: prefix'
        );
      }
      keys.push(`${alg}:${hex}`.toLowerCase());
    }
    const pk = q['publicKey'];
    if (pk !== undefined && pk !== null) {
      if (!isObj(pk)) throw badRequest('publicKey must be an object');
      const format = pk['format'];
      if (format !== 'x509') {
        throw badRequest(
          `publicKey format ${JSON.stringify(format) ?? 'undefined'} is not supported by this log (x509 only)`
        );
      }
      if (pk['url'] !== undefined) {
        throw badRequest('publicKey.url is not supported');
      }
      const content =
        typeof pk['content'] === 'string'
          ? decodeBase64Strict(pk['content'])
          : undefined;
      if (content === undefined)
        throw badRequest('publicKey.content must be base64');
      try {
        keys.push(publicKeyIndexKey(content));
      } catch (e) {
        throw badRequest(
          `error processing public key: ${e instanceof Error ? e.message : String(e)}`
        );
      }
    }
    for (const name of ['email', 'subject'] as const) {
      const v = q[name];
      if (v === undefined || v === '') continue;
      if (typeof v !== 'string') throw badRequest(`${name} must be a string`);
      keys.push(v.toLowerCase());
    }
    const op = q['operator'] ?? 'or';
    if (op !== 'and' && op !== 'or') {
      throw new ValidationFailure(
        Validation.InvalidType,
        'operator in body should be one of [and or]'
      );
    }
    if (keys.length === 0) {
      throw badRequest(
        'at least one of hash, publicKey, email or subject is required'
      );
    }
    return json(200, await log.search(keys, op));
  };

  return async (req) => {
    try {
      return await routes(req);
    } catch (e) {
      const res = errorToResponse(e);
      if (res.status >= 500) opts.onError?.(e);
      return res;
    }
  };
}

class BodyTooLarge extends SignetError {
  constructor() {
    super('TLOG_REJECTED', 'request body too large');
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, r: HttpResponse): void {
  res.writeHead(r.status, {
    ...r.headers,
    'Content-Length': Buffer.byteLength(r.body),
  });
  res.end(r.body);
}

/** A node:http request listener serving the Rekor v1 API. */
export function createLogRequestListener(
  log: TransparencyLog,
  opts: LogHandlerOptions = {}
): (req: IncomingMessage, res: ServerResponse) => void {
  const handler = createLogHandler(log, opts);
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const bodyP =
      method === 'POST' || method === 'PUT'
        ? readBody(req, limit)
        : Promise.resolve(Buffer.alloc(0));
    bodyP
      .then((body) =>
        handler({ method, path: url.pathname, query: url.searchParams, body })
      )
      .then(
        (r) => send(res, r),
        (e: unknown) => {
          if (e instanceof BodyTooLarge) {
            res.setHeader('Connection', 'close');
            send(
              res,
              json(413, {
                code: 413,
                message: `Request Entity Too Large. Limit set to ${limit}`,
              })
            );
            return;
          }
          opts.onError?.(e);
          send(res, errorToResponse(e));
        }
      );
  };
}

export interface RunningLogServer {
  readonly server: Server;
  /** `host:port` actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Listens on host:port (port 0 = any free port). `verifyWorkers` > 0 runs
 * entry validation on that many worker threads (closed with the server).
 */
export async function listenLogServer(
  log: TransparencyLog,
  host: string,
  port: number,
  opts: Omit<LogHandlerOptions, 'validationPool'> & {
    readonly verifyWorkers?: number;
  } = {}
): Promise<RunningLogServer> {
  const pool =
    (opts.verifyWorkers ?? 0) > 0
      ? new ValidationPool(opts.verifyWorkers ?? 0)
      : undefined;
  const server = createServer(
    { keepAlive: true, keepAliveTimeout: 30_000 },
    createLogRequestListener(log, {
      ...opts,
      ...(pool === undefined ? {} : { validationPool: pool }),
    })
  );
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const address =
    a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  return {
    server,
    address,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool?.close();
    },
  };
}
