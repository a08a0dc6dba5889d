/** A PEM block: its label (e.g. `PUBLIC KEY`) and DER bytes. */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const PEM_RE =
  /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----/g;

/**
 * Every PEM block in the text, in order. Headers (RFC 1421 `Proc-Type:`) are
 * not supported; base64 must be valid. Returns [] when there is none.
 */
export function decodePemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const label = m[1] ?? '';
    const body = (m[2] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
      throw new TypeError(`invalid base64 in PEM block ${label}`);
    }
    out.push({ label, der: Buffer.from(body, 'base64') });
  }
  return out;
}

/** PEM text with 64-column lines and a final newline, as Go's encoding/pem writes it. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${label}-----\n`;
}
