/**
 * Small HTTP fault servers for what the real registry does not show
 * (spec/registry-client.md §7.3): rate limits with Retry-After, redirects
 * to another host, missing or wrong Docker-Content-Digest, bodies that do
 * not match their digest, hostile huge or endless bodies, Link pagination,
 * a referrers API, refused monolithic uploads, dropped connections.
 *
 * A framework-free handler `(req) => FaultResponse` behind a thin node:http
 * adapter; every request is recorded (method, path, query, headers).
 */
import { createServer } from 'node:http';
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type FaultResponse =
  | {
      status: number;
      headers?: Record<string, string | string[]>;
      body?: Buffer | string;
    }
  /** Endless body without Content-Length (until the client hangs up). */
  | { endless: true; status?: number; headers?: Record<string, string> }
  /** Drop the connection without answering. */
  | { reset: true };

export type FaultHandler = (
  req: FaultRequest
) => FaultResponse | Promise<FaultResponse>;

export interface FaultServer {
  /** `http://<hostname>:<port>` */
  url: string;
  /** `<hostname>:<port>`, usable as a registry name. */
  host: string;
  port: number;
  requests: FaultRequest[];
  /** Bytes written by endless responses before the client hung up. */
  endlessBytes: number;
  stop(): Promise<void>;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Starts a fault server on loopback. `hostname` chooses how clients name it
 * and where it listens ('127.0.0.1' or '127.0.0.2', both loopback on
 * Linux): two servers on different addresses are two different hosts for
 * the redirect credential rule.
 */
export async function startFaultServer(
  handler: FaultHandler,
  opts: { hostname?: '127.0.0.1' | '127.0.0.2' } = {}
): Promise<FaultServer> {
  const requests: FaultRequest[] = [];
  const state = { endlessBytes: 0 };
  const serve = async (
    req: IncomingMessage,
    res: ServerResponse
  ): Promise<void> => {
    const body = await readAll(req);
    const fr: FaultRequest = {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', 'http://fault.invalid'),
      headers: req.headers,
      body,
    };
    requests.push(fr);
    const out = await handler(fr);
    if ('reset' in out) {
      req.socket.destroy();
      return;
    }
    if ('endless' in out) {
      res.writeHead(out.status ?? 200, out.headers ?? {});
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = (): void => {
        while (!res.destroyed) {
          state.endlessBytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      res.on('close', () => undefined);
      pump();
      return;
    }
    const payload =
      out.body === undefined
        ? Buffer.alloc(0)
        : typeof out.body === 'string'
          ? Buffer.from(out.body, 'utf8')
          : out.body;
    const headers: Record<string, string | string[]> = { ...out.headers };
    if (
      !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')
    ) {
      headers['content-length'] = String(payload.length);
    }
    res.writeHead(out.status, headers);
    res.end(fr.method === 'HEAD' ? undefined : payload);
  };
  const server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500);
        res.end();
      } else {
        res.destroy();
      }
    });
  });
  const hostname = opts.hostname ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, hostname, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${hostname}:${port}`,
    host: `${hostname}:${port}`,
    port,
    requests,
    get endlessBytes() {
      return state.endlessBytes;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A distribution-style error body. */
export function ociError(
  status: number,
  code: string,
  message: string
): FaultResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ errors: [{ code, message }] }),
  };
}

/** 200 for GET /v2/ (the ping), undefined otherwise: `ping(req) ?? …`. */
export function ping(req: FaultRequest): FaultResponse | undefined {
  if (req.url.pathname === '/v2/') return { status: 200, body: '{}' };
  return undefined;
}
