/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1, formerly RFC 7235 §4.1;
 * spec registry-client.md §2.1).
 *
 *   WWW-Authenticate = #challenge
 *   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 *   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * Registries send several challenges per header and several headers
 * (`Negotiate` + `Basic`), spell schemes in any case (Nexus sends `BASIC`),
 * and put commas inside quoted values (`scope="repository:a:pull,push"`), so a
 * per-parameter regex is not enough: this is a small tokenizer.
 *
 * Leniency, because what matters is getting a usable realm out of what real
 * servers send: unquoted values may contain characters outside `token`
 * (`realm=https://host/token`), an unterminated quoted string runs to the end
 * of the header, and a malformed parameter is skipped up to the next comma.
 *
 * PURE: no IO.
 */

export interface Challenge {
  /** Lower-cased auth scheme: 'bearer', 'basic', 'negotiate', … */
  scheme: string;
  /** Parameters with lower-cased names (realm, service, scope, error, …). */
  params: Record<string, string>;
  /** The token68 form (`Negotiate YII…=`), when the challenge used it. */
  token68?: string;
}

/** RFC 9110 tchar. */
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** token68 characters before the trailing '='s. */
const T68CHAR = /[-._~+/0-9A-Za-z]/;

function isWs(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/**
 * Parse one or more `WWW-Authenticate` header values into challenges, in the
 * order given. Never throws: unusable input yields fewer (or no) challenges.
 */
export function parseWwwAuthenticate(
  headers: string | readonly string[]
): Challenge[] {
  const list = typeof headers === 'string' ? [headers] : headers;
  const out: Challenge[] = [];
  for (const h of list) {
    for (const c of parseHeader(h)) out.push(c);
  }
  return out;
}

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(offset = 0): string | undefined {
    return this.s[this.pos + offset];
  }

  skipWs(): void {
    while (isWs(this.peek())) this.pos++;
  }

  /** Skips whitespace and empty list elements (`,  ,`). */
  skipWsAndCommas(): void {
    while (isWs(this.peek()) || this.peek() === ',') this.pos++;
  }

  token(): string {
    const start = this.pos;
    while (!this.done && TCHAR.test(this.s[this.pos] ?? '')) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** A quoted-string starting at '"': unescapes quoted-pairs. */
  quoted(): string {
    this.pos++; // opening quote
    let v = '';
    while (!this.done) {
      const c = this.s[this.pos++];
      if (c === '"') return v;
      if (c === '\\' && !this.done) {
        v += this.s[this.pos++];
      } else {
        v += c;
      }
    }
    return v; // unterminated: take the rest
  }

  /** A lenient unquoted value: everything up to ',' or whitespace. */
  bare(): string {
    const start = this.pos;
    while (!this.done && this.peek() !== ',' && !isWs(this.peek())) {
      this.pos++;
    }
    return this.s.slice(start, this.pos);
  }

  /** Skip to just past the next ',' that is not inside a quoted string. */
  skipPastComma(): void {
    while (!this.done) {
      const c = this.peek();
      if (c === '"') {
        this.quoted();
        continue;
      }
      this.pos++;
      if (c === ',') return;
    }
  }

  /**
   * True when the text at the cursor is `token BWS "="` (an auth-param)
   * rather than the scheme of a following challenge.
   */
  atParam(): boolean {
    let p = this.pos;
    const start = p;
    while (p < this.s.length && TCHAR.test(this.s[p] ?? '')) p++;
    if (p === start) return false;
    while (isWs(this.s[p])) p++;
    if (this.s[p] !== '=') return false;
    // `abc==` / `abc=` at the end of a challenge is a token68, not a param.
    p++;
    while (isWs(this.s[p])) p++;
    return p < this.s.length && this.s[p] !== '=' && this.s[p] !== ',';
  }

  /**
   * A token68 at the cursor that runs to the end of the challenge (end of
   * header or ','), or undefined without moving.
   */
  token68(): string | undefined {
    let p = this.pos;
    while (p < this.s.length && T68CHAR.test(this.s[p] ?? '')) p++;
    if (p === this.pos) return undefined;
    while (this.s[p] === '=') p++;
    let q = p;
    while (isWs(this.s[q])) q++;
    if (q < this.s.length && this.s[q] !== ',') return undefined;
    const t = this.s.slice(this.pos, p);
    this.pos = q;
    return t;
  }
}

function parseHeader(header: string): Challenge[] {
  const sc = new Scanner(header);
  const out: Challenge[] = [];
  for (;;) {
    sc.skipWsAndCommas();
    if (sc.done) break;
    const scheme = sc.token();
    if (scheme === '' || sc.peek() === '=') {
      // Not a scheme (junk, or a stray `name=` parameter): skip the element.
      sc.skipPastComma();
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    if (!isWs(sc.peek())) {
      // Scheme alone ("Negotiate", "Basic,Bearer …") or junk glued to it.
      if (!sc.done && sc.peek() !== ',') sc.skipPastComma();
      continue;
    }
    sc.skipWs();
    if (sc.done) break;
    if (sc.peek() === ',') continue;

    if (!sc.atParam()) {
      const t68 = sc.token68();
      if (t68 !== undefined) {
        challenge.token68 = t68;
        continue;
      }
    }
    parseParams(sc, challenge.params);
  }
  return out;
}

/** Reads `name=value` pairs until the next challenge's scheme or the end. */
function parseParams(sc: Scanner, params: Record<string, string>): void {
  for (;;) {
    sc.skipWsAndCommas();
    if (sc.done || !sc.atParam()) return;
    const name = sc.token().toLowerCase();
    sc.skipWs();
    sc.pos++; // '='
    sc.skipWs();
    const value = sc.peek() === '"' ? sc.quoted() : sc.bare();
    // RFC 9110: a parameter name occurs at most once; keep the first.
    // '__proto__' is never a real parameter and must not touch the prototype.
    if (name !== '__proto__' && !Object.hasOwn(params, name)) {
      params[name] = value;
    }
    sc.skipWs();
    if (sc.done) return;
    if (sc.peek() !== ',') {
      // Garbage after a value (e.g. `realm="a"x`): drop it up to the comma.
      sc.skipPastComma();
    }
  }
}
