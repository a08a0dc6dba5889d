/**
 * Table tests for the transport's pure helpers: Retry-After, host
 * classification, error-body decoding, status → error code, Link headers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyNetworkError,
  decodeErrorBody,
  errorCodeForStatus,
  isLoopbackHost,
  isPrivateAddress,
  parseRetryAfter,
  safeUrl,
} from '../../src/oci/transport.js';
import { parseNextLink } from '../../src/oci/registry.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  const cases: [string | undefined, number | undefined][] = [
    [undefined, undefined],
    ['0', 0],
    ['120', 120_000],
    [' 7 ', 7000],
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['Sun, 01 Mar 2026 11:59:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
  ];
  for (const [input, want] of cases) {
    it(`parses ${JSON.stringify(input)}`, () => {
      assert.equal(parseRetryAfter(input, now), want);
    });
  }
});

describe('host classification', () => {
  const loopback = [
    'localhost',
    'LOCALHOST',
    'reg.localhost',
    '127.0.0.1',
    '127.1.2.3',
    '::1',
    '[::1]',
  ];
  const notLoopback = [
    'example.com',
    '10.0.0.1',
    '128.0.0.1',
    'localhost.example.com',
    '::2',
    '0.0.0.0',
  ];
  for (const h of loopback)
    it(`${h} is loopback`, () => assert.equal(isLoopbackHost(h), true));
  for (const h of notLoopback)
    it(`${h} is not loopback`, () => assert.equal(isLoopbackHost(h), false));
  const priv = [
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    'fd00::1',
    'fe80::1',
    '[fc00::1]',
    '127.0.0.1',
    '::ffff:10.0.0.1',
  ];
  const pub = [
    '8.8.8.8',
    '172.32.0.1',
    '192.169.0.1',
    'ghcr.io',
    '2001:db8::1',
  ];
  for (const h of priv)
    it(`${h} is private`, () => assert.equal(isPrivateAddress(h), true));
  for (const h of pub)
    it(`${h} is not private`, () => assert.equal(isPrivateAddress(h), false));
});

describe('classifyNetworkError', () => {
  const cases: [unknown, string][] = [
    [
      Object.assign(new Error('self signed'), {
        code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      }),
      'tls-untrusted',
    ],
    [
      Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
      'tls-untrusted',
    ],
    [
      Object.assign(new Error('x'), {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      }),
      'tls-untrusted',
    ],
    [
      Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }),
      'tls-untrusted',
    ],
    [
      Object.assign(new Error('ssl3_get_record:wrong version number'), {
        code: 'EPROTO',
      }),
      'not-tls',
    ],
    [
      Object.assign(new Error('x'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' }),
      'not-tls',
    ],
    [
      Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
      'timeout',
    ],
    [Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'refused'],
    [Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'dns'],
    [new Error('weird'), 'other'],
    ['not an error', 'other'],
  ];
  for (const [err, want] of cases) {
    it(`classifies ${want}: ${String((err as { code?: string }).code ?? err)}`, () => {
      assert.equal(classifyNetworkError(err), want);
    });
  }
});

describe('decodeErrorBody', () => {
  it('takes the first error of a distribution body', () => {
    const body = Buffer.from(
      JSON.stringify({
        errors: [
          {
            code: 'MANIFEST_UNKNOWN',
            message: 'manifest unknown',
            detail: { Tag: 'x' },
          },
          { code: 'DENIED' },
        ],
      })
    );
    assert.deepEqual(decodeErrorBody(body, 'application/json'), {
      ociCode: 'MANIFEST_UNKNOWN',
      detail: 'manifest unknown',
    });
  });
  it('ignores a malformed code', () => {
    const body = Buffer.from(
      JSON.stringify({
        errors: [{ code: 'not a code <script>', message: 'm' }],
      })
    );
    assert.deepEqual(decodeErrorBody(body, 'application/json'), {
      detail: 'm',
    });
  });
  it('reads token-server details', () => {
    assert.deepEqual(
      decodeErrorBody(
        Buffer.from('{"details":"incorrect username or password"}'),
        'application/json'
      ),
      {
        detail: 'incorrect username or password',
      }
    );
  });
  it('keeps the first line of a text body', () => {
    assert.deepEqual(
      decodeErrorBody(
        Buffer.from('404 page not found\nmore'),
        'text/plain; charset=utf-8'
      ),
      { detail: '404 page not found' }
    );
  });
  it('ignores HTML', () => {
    assert.deepEqual(
      decodeErrorBody(Buffer.from('<html>oops</html>'), 'text/html'),
      {}
    );
  });
  it('strips control characters, truncates, and redacts', () => {
    const msg = `bad\u001b[31m Bearer abc.def.ghi ${'x'.repeat(500)}`;
    const out = decodeErrorBody(
      Buffer.from(
        JSON.stringify({ errors: [{ code: 'DENIED', message: msg }] })
      ),
      'application/json'
    );
    assert.ok(out.detail !== undefined && out.detail.length <= 201);
    assert.ok(!out.detail.includes('\u001b'));
    assert.ok(!out.detail.includes('abc.def.ghi'));
  });
});

describe('errorCodeForStatus', () => {
  const cases: [number, string | undefined, string][] = [
    [401, undefined, 'REGISTRY_UNAUTHORIZED'],
    [403, undefined, 'REGISTRY_DENIED'],
    [401, 'DENIED', 'REGISTRY_DENIED'],
    [404, 'MANIFEST_UNKNOWN', 'REGISTRY_NOT_FOUND'],
    [405, undefined, 'REGISTRY_UNSUPPORTED'],
    [400, 'UNSUPPORTED', 'REGISTRY_UNSUPPORTED'],
    [409, undefined, 'REGISTRY_CONFLICT'],
    [412, undefined, 'REGISTRY_CONFLICT'],
    [413, undefined, 'REGISTRY_TOO_LARGE'],
    [429, 'TOOMANYREQUESTS', 'REGISTRY_UNAVAILABLE'],
    [503, undefined, 'REGISTRY_UNAVAILABLE'],
    [400, 'MANIFEST_INVALID', 'REGISTRY_PROTOCOL'],
    [418, undefined, 'REGISTRY_PROTOCOL'],
  ];
  for (const [status, oci, want] of cases) {
    it(`${status} ${oci ?? ''} → ${want}`, () =>
      assert.equal(errorCodeForStatus(status, oci), want));
  }
});

describe('safeUrl', () => {
  it('drops query strings and userinfo', () => {
    assert.equal(
      safeUrl(
        new URL(
          'https://u:p@s3.example/bucket/blob?X-Amz-Signature=abc&token=t'
        )
      ),
      'https://s3.example/bucket/blob'
    );
  });
});

describe('parseNextLink', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['</v2/a/tags/list?n=2&last=b>; rel="next"', '/v2/a/tags/list?n=2&last=b'],
    [
      '<https://r.example/v2/a/tags/list?last=b>; rel=next',
      'https://r.example/v2/a/tags/list?last=b',
    ],
    ['</prev>; rel="prev", </next>; rel="next"', '/next'],
    ['</x>; type="text/html"; rel="alternate next"', '/x'],
    ['</x>; rel="prev"', undefined],
    ['garbage', undefined],
  ];
  for (const [h, want] of cases) {
    it(`parses ${JSON.stringify(h)}`, () =>
      assert.equal(parseNextLink(h), want));
  }
});
