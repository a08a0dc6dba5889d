import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  checkClaims,
  decodeSimpleSigningPayload,
  marshalGoJson,
  marshalSimpleSigningPayload,
} from '../../src/verify/payload.js';

const fixtureDir = join(sharedFixtures, 'cosign', 'legacy-signature');
const fixturePayload = readFileSync(join(fixtureDir, 'payload.json'));
const FIXTURE_DIGEST =
  'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';
const OTHER_DIGEST =
  'sha256:7d1b98f9066cc2005503d6366a8bcad9469b2137f118c162c8c96ab2b8051cc0';

const malformed = { name: 'VerificationError', code: 'PAYLOAD_MALFORMED' };
const mismatch = { name: 'VerificationError', code: 'CLAIM_MISMATCH' };

function decode(s: string) {
  return decodeSimpleSigningPayload(Buffer.from(s));
}

describe('decodeSimpleSigningPayload', () => {
  it('decodes the cosign fixture payload', () => {
    const p = decodeSimpleSigningPayload(fixturePayload);
    assert.equal(
      p.critical.identity['docker-reference'],
      'index.docker.io/namespace/image'
    );
    assert.equal(p.critical.image['docker-manifest-digest'], FIXTURE_DIGEST);
    assert.equal(p.critical.type, 'cosign container image signature');
    assert.equal(p.optional, null);
  });

  it('reads a cosign 0.x payload with capitalised keys (Go matches case-insensitively)', () => {
    const p = decode(
      `{"Critical":{"Identity":{"docker-reference":""},"Image":{"Docker-manifest-digest":"${FIXTURE_DIGEST}"},"Type":"cosign container signature"},"Optional":null}`
    );
    assert.equal(p.critical.image['docker-manifest-digest'], FIXTURE_DIGEST);
    assert.equal(p.critical.type, 'cosign container signature');
  });

  it('folds U+212A KELVIN SIGN and U+017F LONG S as Go does', () => {
    const p = decode(
      `{"critical":{"image":{"doc\u212Aer-manifest-dige\u017Ft":"${FIXTURE_DIGEST}"}}}`
    );
    assert.equal(p.critical.image['docker-manifest-digest'], FIXTURE_DIGEST);
    // Other look-alikes do not fold to ASCII and are ignored like unknown keys.
    const q = decode(
      `{"critical":{"image":{"dockеr-manifest-digest":"${FIXTURE_DIGEST}"}}}` // Cyrillic е
    );
    assert.equal(q.critical.image['docker-manifest-digest'], '');
  });

  it('lets the last case-variant key win, merging nested objects as Go does', () => {
    const p = decode(
      `{"critical":{"type":"t","image":{"docker-manifest-digest":"A"}},` +
        `"CRITICAL":{"identity":{"docker-reference":"r"},"Image":{"DOCKER-MANIFEST-DIGEST":"B"}}}`
    );
    assert.equal(p.critical.type, 't');
    assert.equal(p.critical.identity['docker-reference'], 'r');
    assert.equal(p.critical.image['docker-manifest-digest'], 'B');
    const q = decode('{"optional":{"a":"1"},"Optional":{"b":"2"}}');
    assert.deepEqual(q.optional, { a: '1', b: '2' });
    const r = decode('{"optional":{"a":"1"},"OPTIONAL":null}');
    assert.equal(r.optional, null);
  });

  it('treats null as a no-op for structs and strings', () => {
    const p = decode(
      `{"critical":{"image":{"docker-manifest-digest":"${FIXTURE_DIGEST}"},"type":null},"Critical":null}`
    );
    assert.equal(p.critical.image['docker-manifest-digest'], FIXTURE_DIGEST);
    assert.equal(p.critical.type, '');
    const z = decode('null');
    assert.equal(z.critical.image['docker-manifest-digest'], '');
  });

  it('ignores unknown fields', () => {
    const p = decode(
      `{"critical":{"image":{"docker-manifest-digest":"${FIXTURE_DIGEST}","extra":[1]},"x":{}},"y":5}`
    );
    assert.equal(p.critical.image['docker-manifest-digest'], FIXTURE_DIGEST);
  });

  it('rejects values of the wrong JSON type, as Go does', () => {
    for (const d of [
      '[]',
      '"x"',
      '5',
      '{"critical":"x"}',
      '{"critical":{"type":5}}',
      '{"critical":{"image":[]}}',
      '{"critical":{"image":{"docker-manifest-digest":true}}}',
      '{"critical":{"identity":{"docker-reference":{}}}}',
      '{"optional":[]}',
      '{"optional":"a=b"}',
    ]) {
      assert.throws(() => decode(d), malformed, d);
    }
  });

  it('rejects duplicate keys, deep nesting, oversized and non-UTF-8 payloads', () => {
    assert.throws(
      () =>
        decode(
          `{"critical":{"image":{"docker-manifest-digest":"${OTHER_DIGEST}","docker-manifest-digest":"${FIXTURE_DIGEST}"}}}`
        ),
      malformed
    );
    assert.throws(
      () => decode(`{"optional":{"a":${'['.repeat(200)}${']'.repeat(200)}}}`),
      malformed
    );
    assert.throws(
      () => decodeSimpleSigningPayload(fixturePayload, { maxBytes: 246 }),
      malformed
    );
    assert.doesNotThrow(() =>
      decodeSimpleSigningPayload(fixturePayload, { maxBytes: 247 })
    );
    assert.throws(
      () => decodeSimpleSigningPayload(Uint8Array.from([0x7b, 0xff, 0x7d])),
      malformed
    );
  });
});

describe('checkClaims', () => {
  const withOptional = (optional: string) =>
    decode(
      `{"critical":{"image":{"docker-manifest-digest":"${FIXTURE_DIGEST}"}},"optional":${optional}}`
    );

  it('accepts the digest the payload names', () => {
    assert.doesNotThrow(() =>
      checkClaims(decodeSimpleSigningPayload(fixturePayload), {
        digest: FIXTURE_DIGEST,
      })
    );
  });

  it('rejects a payload naming another digest (replay)', () => {
    assert.throws(
      () =>
        checkClaims(decodeSimpleSigningPayload(fixturePayload), {
          digest: OTHER_DIGEST,
        }),
      mismatch
    );
    // Digests compare exactly: no case folding, no trimming.
    assert.throws(
      () =>
        checkClaims(withOptional('null'), {
          digest: FIXTURE_DIGEST.toUpperCase(),
        }),
      mismatch
    );
  });

  it('requires every -a annotation present with an equal string value', () => {
    const p = withOptional('{"env":"prod","n":1,"b":true,"extra":"x"}');
    assert.doesNotThrow(() =>
      checkClaims(p, { digest: FIXTURE_DIGEST, annotations: { env: 'prod' } })
    );
    assert.doesNotThrow(() =>
      checkClaims(p, { digest: FIXTURE_DIGEST, annotations: {} })
    );
    for (const annotations of [
      { env: 'dev' },
      { Env: 'prod' },
      { missing: 'x' },
      { n: '1' }, // Go interface equality: float64(1) != "1"
      { b: 'true' },
      { env: 'prod', other: '' },
    ]) {
      assert.throws(
        () => checkClaims(p, { digest: FIXTURE_DIGEST, annotations }),
        mismatch,
        JSON.stringify(annotations)
      );
    }
    assert.throws(
      () =>
        checkClaims(withOptional('null'), {
          digest: FIXTURE_DIGEST,
          annotations: { env: 'prod' },
        }),
      mismatch
    );
  });

  it('does not check type or docker-reference, as cosign does not', () => {
    const p = decode(
      `{"critical":{"identity":{"docker-reference":"evil.example/other"},"image":{"docker-manifest-digest":"${FIXTURE_DIGEST}"},"type":"something else"}}`
    );
    assert.doesNotThrow(() => checkClaims(p, { digest: FIXTURE_DIGEST }));
  });
});

describe('marshalSimpleSigningPayload', () => {
  it('prints the fixture exactly as cosign verify does (spec §12)', () => {
    assert.equal(
      marshalSimpleSigningPayload(decodeSimpleSigningPayload(fixturePayload)),
      '{"critical":{"identity":{"docker-reference":"index.docker.io/namespace/image"},"image":{"docker-manifest-digest":"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},"type":"cosign container image signature"},"optional":null}'
    );
  });

  it('normalises key case, drops unknown fields and sorts optional', () => {
    const p = decode(
      `{"Optional":{"z":"1","a":{"y":2,"b":[1,"<&>"]}},"x":1,"CRITICAL":{"TYPE":"t","Image":{"Docker-Manifest-Digest":"d"}}}`
    );
    assert.equal(
      marshalSimpleSigningPayload(p),
      '{"critical":{"identity":{"docker-reference":""},"image":{"docker-manifest-digest":"d"},"type":"t"},"optional":{"a":{"b":[1,"\\u003c\\u0026\\u003e"],"y":2},"z":"1"}}'
    );
  });
});

describe('marshalGoJson', () => {
  it('formats numbers as Go formats float64', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [1.5, '1.5'],
      [1700000000, '1700000000'],
      [1e20, '100000000000000000000'],
      [1e21, '1e+21'],
      [1.25e-7, '1.25e-7'],
      [0.000001, '0.000001'],
      [-2.5e-10, '-2.5e-10'],
      [123456789012345680000, '123456789012345680000'],
    ];
    for (const [v, want] of cases)
      assert.equal(marshalGoJson(v), want, String(v));
  });

  it('escapes strings HTML-safely as Go does', () => {
    assert.equal(
      marshalGoJson('a<b>&c\u2028\u2029\u0001\b\f\n\r\t"\\\u007f'),
      '"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\\u0001\\b\\f\\n\\r\\t\\"\\\\\u007f"'
    );
  });

  it('sorts map keys by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FFFF is EF BF BF in UTF-8, U+1F600 is F0 9F 98 80: U+FFFF first,
    // although its UTF-16 code unit (FFFF) is above the surrogate D83D.
    assert.equal(
      marshalGoJson({ '\u{1F600}': 1, '\uffff': 2, B: 3, a: 4 }),
      '{"B":3,"a":4,"\uffff":2,"\u{1F600}":1}'
    );
  });
});
