/**
 * Strict JSON for untrusted input (payloads, manifests, annotations read from
 * a registry). Parse once, at the boundary, into plain values.
 *
 * Why not JSON.parse: it silently keeps the last of two duplicate keys, so
 * two parsers can read one document differently (a verifier and a policy
 * engine disagreeing is how signature bypasses happen); it accepts lone UTF-16
 * surrogates; and it has no depth or size limit. This parser:
 *
 *  - rejects duplicate keys within one object (exact, code-unit equality);
 *  - rejects nesting deeper than `maxDepth` (default 64) and inputs longer
 *    than `maxBytes` (default 4 MiB, the manifest cap most registries use);
 *  - rejects invalid UTF-8 and lone surrogate escapes;
 *  - otherwise follows RFC 8259 exactly (no comments, trailing commas, NaN,
 *    leading zeros, unescaped control characters, or trailing data).
 *
 * Objects are ordinary objects with their keys in document order (except
 * that JavaScript lists integer-like keys first); a `__proto__` key becomes
 * an own property, never the prototype.
 */
import { SignetError } from '../errors.js';

export type JsonValue =
  null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface StrictJsonOptions {
  /** Largest accepted input, in bytes (UTF-8). Default 4 MiB. */
  readonly maxBytes?: number;
  /** Deepest accepted nesting of arrays and objects. Default 64. */
  readonly maxDepth?: number;
  /** Names the document in error messages, e.g. `signature payload`. */
  readonly what?: string;
}

export const DEFAULT_JSON_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_JSON_MAX_DEPTH = 64;

const LONE_SURROGATE_RE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses `input` (bytes or an already-decoded string) strictly.
 * Throws SignetError('MALFORMED_INPUT') naming the problem and its offset.
 */
export function parseStrictJson(
  input: Uint8Array | string,
  opts: StrictJsonOptions = {}
): JsonValue {
  const what = opts.what ?? 'json document';
  const maxBytes = opts.maxBytes ?? DEFAULT_JSON_MAX_BYTES;
  const maxDepth = opts.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  let text: string;
  if (typeof input === 'string') {
    // A UTF-16 code unit is at most 3 UTF-8 bytes: only measure when needed.
    if (
      input.length * 3 > maxBytes &&
      Buffer.byteLength(input, 'utf8') > maxBytes
    ) {
      throw tooLarge(what, maxBytes);
    }
    if (LONE_SURROGATE_RE.test(input)) {
      throw new SignetError(
        'MALFORMED_INPUT',
        `${what}: invalid JSON: lone surrogate in input`
      );
    }
    text = input;
  } else {
    if (input.byteLength > maxBytes) throw tooLarge(what, maxBytes);
    try {
      text = utf8.decode(input);
    } catch (err) {
      throw new SignetError(
        'MALFORMED_INPUT',
        `${what}: invalid JSON: not valid UTF-8`,
        { cause: err }
      );
    }
  }
  return new Parser(text, maxDepth, what).parseDocument();
}

function tooLarge(what: string, maxBytes: number): SignetError {
  return new SignetError(
    'MALFORMED_INPUT',
    `${what}: larger than the limit of ${maxBytes} bytes`
  );
}

/** True for a JSON object (not null, not an array). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
// Characters that need no handling: anything but quote, backslash, C0 controls.
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const PLAIN_STRING_RE = /[^"\\\u0000-\u001f]*/y;

class Parser {
  private pos = 0;
  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
    private readonly what: string
  ) {}

  parseDocument(): JsonValue {
    this.skipWs();
    const v = this.parseValue(0);
    this.skipWs();
    if (this.pos !== this.s.length) this.fail('unexpected data after value');
    return v;
  }

  private fail(msg: string): never {
    throw new SignetError(
      'MALFORMED_INPUT',
      `${this.what}: invalid JSON at offset ${this.pos}: ${msg}`
    );
  }

  private skipWs(): void {
    const s = this.s;
    let p = this.pos;
    for (;;) {
      const c = s.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private parseValue(depth: number): JsonValue {
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject(depth + 1);
      case 0x5b /* [ */:
        return this.parseArray(depth + 1);
      case 0x22 /* " */:
        return this.parseString();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        if (Number.isNaN(c)) this.fail('unexpected end of input');
        return this.fail(
          `unexpected character ${JSON.stringify(this.s[this.pos])}`
        );
    }
  }

  private literal<T extends JsonValue>(word: string, value: T): T {
    if (!this.s.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
    return value;
  }

  private parseNumber(): number {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.s);
    if (m === null) return this.fail('invalid number');
    this.pos += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.fail('number out of range');
    return n;
  }

  private enter(depth: number): void {
    if (depth > this.maxDepth) {
      this.fail(`nesting deeper than ${this.maxDepth} levels`);
    }
  }

  private parseArray(depth: number): JsonValue[] {
    this.enter(depth);
    this.pos++; // [
    const out: JsonValue[] = [];
    this.skipWs();
    if (this.s.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.parseValue(depth));
      this.skipWs();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c /* , */) {
        this.pos++;
        continue;
      }
      if (c === 0x5d /* ] */) {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or ']'");
    }
  }

  private parseObject(depth: number): JsonObject {
    this.enter(depth);
    this.pos++; // {
    const out: JsonObject = {};
    this.skipWs();
    if (this.s.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.s.charCodeAt(this.pos) !== 0x22) this.fail('expected a key');
      const keyPos = this.pos;
      const key = this.parseString();
      if (Object.prototype.hasOwnProperty.call(out, key)) {
        this.pos = keyPos;
        this.fail(`duplicate key ${JSON.stringify(key)}`);
      }
      this.skipWs();
      if (this.s.charCodeAt(this.pos) !== 0x3a /* : */)
        this.fail("expected ':'");
      this.pos++;
      this.skipWs();
      const value = this.parseValue(depth);
      // defineProperty: a "__proto__" key must stay data, not a prototype.
      Object.defineProperty(out, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipWs();
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x2c /* , */) {
        this.pos++;
        continue;
      }
      if (c === 0x7d /* } */) {
        this.pos++;
        return out;
      }
      this.fail("expected ',' or '}'");
    }
  }

  private parseString(): string {
    const s = this.s;
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      PLAIN_STRING_RE.lastIndex = this.pos;
      const m = PLAIN_STRING_RE.exec(s);
      if (m !== null && m[0].length > 0) {
        out += m[0];
        this.pos += m[0].length;
      }
      const c = s.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        return out;
      }
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c < 0x20) this.fail('control character in string');
      // backslash
      const e = s.charCodeAt(this.pos + 1);
      this.pos += 2;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75 /* u */: {
          const hi = this.hex4();
          if (hi >= 0xd800 && hi <= 0xdbff) {
            if (
              s.charCodeAt(this.pos) !== 0x5c ||
              s.charCodeAt(this.pos + 1) !== 0x75
            ) {
              this.fail('lone surrogate escape');
            }
            this.pos += 2;
            const lo = this.hex4();
            if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone surrogate escape');
            out += String.fromCharCode(hi, lo);
          } else if (hi >= 0xdc00 && hi <= 0xdfff) {
            this.fail('lone surrogate escape');
          } else {
            out += String.fromCharCode(hi);
          }
          break;
        }
        default:
          this.pos -= 1;
          this.fail('invalid escape');
      }
    }
  }

  private hex4(): number {
    const h = this.s.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid \\u escape');
    this.pos += 4;
    return parseInt(h, 16);
  }
}
