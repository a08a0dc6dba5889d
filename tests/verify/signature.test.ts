import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  generatePrivateKey,
  parsePublicKeyPem,
  signerFromPrivateKey,
  verifierFromPublicKey,
  type SigningAlgorithm,
} from '../../src/keys/index.js';
import {
  SIGNATURE_ANNOTATION,
  simpleSigningPayload,
} from '../../src/oci/cosign-layout.js';
import { marshalSimpleSigningPayload } from '../../src/verify/payload.js';
import {
  signatureFromAnnotations,
  verifySignatureLayer,
} from '../../src/verify/signature.js';

const cosignDir = join(sharedFixtures, 'cosign');
const payload = readFileSync(
  join(cosignDir, 'legacy-signature', 'payload.json')
);
const signatureB64 = readFileSync(
  join(cosignDir, 'legacy-signature', 'signature.b64'),
  'utf8'
);
const fixtureVerifier = verifierFromPublicKey(
  parsePublicKeyPem(
    readFileSync(join(cosignDir, 'keys', 'pemsigstorekey.pub'), 'utf8')
  )
);
const DIGEST =
  'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';
const OTHER =
  'sha256:0000000000000000000000000000000000000000000000000000000000000000';

const annotations = { [SIGNATURE_ANNOTATION]: signatureB64 };
const malformedSig = { name: 'VerificationError', code: 'SIGNATURE_MALFORMED' };
const invalidSig = { name: 'VerificationError', code: 'SIGNATURE_INVALID' };

async function signed(
  bytes: Uint8Array,
  algorithm: SigningAlgorithm = 'ecdsa-sha2-256-nistp256'
) {
  const key = generatePrivateKey(algorithm);
  const signer = signerFromPrivateKey(key);
  const sig = await signer.sign(bytes);
  return {
    verifier: verifierFromPublicKey(key),
    layer: {
      payload: bytes,
      annotations: { [SIGNATURE_ANNOTATION]: sig.toString('base64') },
    },
  };
}

describe('verifySignatureLayer', () => {
  it('verifies the cosign fixture signature with the fixture key (fixtures README)', () => {
    const v = verifySignatureLayer(
      { payload, annotations },
      { verifier: fixtureVerifier, digest: DIGEST }
    );
    assert.deepEqual(v.payload, payload);
    assert.equal(v.signature.toString('base64'), signatureB64);
    assert.ok(v.claims);
    assert.equal(
      marshalSimpleSigningPayload(v.claims),
      '{"critical":{"identity":{"docker-reference":"index.docker.io/namespace/image"},"image":{"docker-manifest-digest":"sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec"},"type":"cosign container image signature"},"optional":null}'
    );
  });

  it('rejects the fixture signature under another key', () => {
    const other = verifierFromPublicKey(generatePrivateKey());
    assert.throws(
      () =>
        verifySignatureLayer(
          { payload, annotations },
          { verifier: other, digest: DIGEST }
        ),
      invalidSig
    );
  });

  it('rejects the fixture signature over a payload changed by one byte', () => {
    const tampered = Buffer.from(payload);
    const i = tampered.length - 3;
    tampered[i] = tampered[i]! ^ 1;
    assert.throws(
      () =>
        verifySignatureLayer(
          { payload: tampered, annotations },
          { verifier: fixtureVerifier, digest: DIGEST }
        ),
      invalidSig
    );
  });

  it('rejects the fixture as a replay onto another digest', () => {
    assert.throws(
      () =>
        verifySignatureLayer(
          { payload, annotations },
          { verifier: fixtureVerifier, digest: OTHER }
        ),
      { name: 'VerificationError', code: 'CLAIM_MISMATCH' }
    );
  });

  it('skips claims with checkClaims=false (cosign --check-claims=false), annotations included', () => {
    const v = verifySignatureLayer(
      { payload, annotations },
      {
        verifier: fixtureVerifier,
        digest: OTHER,
        checkClaims: false,
        annotations: { env: 'prod' },
      }
    );
    assert.equal(v.claims?.critical.image['docker-manifest-digest'], DIGEST);
  });

  it('requires -a annotations in the payload when checking claims', () => {
    assert.throws(
      () =>
        verifySignatureLayer(
          { payload, annotations },
          {
            verifier: fixtureVerifier,
            digest: DIGEST,
            annotations: { env: 'prod' },
          }
        ),
      { name: 'VerificationError', code: 'CLAIM_MISMATCH' }
    );
  });

  it('rejects a missing or non-strict base64 signature annotation', () => {
    const variants: (Record<string, string> | undefined)[] = [
      undefined,
      {},
      { 'dev.cosignproject.cosign/Signature': signatureB64 },
      { [SIGNATURE_ANNOTATION]: '' },
      { [SIGNATURE_ANNOTATION]: signatureB64.replace(/=+$/, '') }, // no padding
      { [SIGNATURE_ANNOTATION]: ` ${signatureB64}` },
      { [SIGNATURE_ANNOTATION]: `${signatureB64}\n` },
      {
        [SIGNATURE_ANNOTATION]: signatureB64
          .replace(/\+/g, '-')
          .replace(/\//g, '_'),
      },
      {
        [SIGNATURE_ANNOTATION]:
          signatureB64.slice(0, 20) + '*' + signatureB64.slice(21),
      },
      { [SIGNATURE_ANNOTATION]: 'not base64 at all!' },
    ];
    for (const a of variants) {
      assert.throws(
        () =>
          verifySignatureLayer(
            { payload, annotations: a },
            { verifier: fixtureVerifier, digest: DIGEST }
          ),
        malformedSig,
        JSON.stringify(a)
      );
    }
  });

  it('rejects valid base64 that is not a signature', () => {
    for (const b64 of [
      'bm9wZQo=',
      'AAAA',
      Buffer.alloc(72).toString('base64'),
    ]) {
      assert.throws(
        () =>
          verifySignatureLayer(
            { payload, annotations: { [SIGNATURE_ANNOTATION]: b64 } },
            { verifier: fixtureVerifier, digest: DIGEST }
          ),
        invalidSig
      );
    }
  });

  it('verifies signatures made with every key type cosign supports', async () => {
    const bytes = simpleSigningPayload({
      dockerReference: '127.0.0.1:5000/demo',
      digest: DIGEST,
      annotations: { env: 'prod' },
    });
    for (const alg of [
      'ecdsa-sha2-256-nistp256',
      'ecdsa-sha2-384-nistp384',
      'ecdsa-sha2-512-nistp521',
      'rsa-sign-pkcs1-2048-sha256',
      'ed25519-ph',
    ] as const) {
      const { verifier, layer } = await signed(bytes, alg);
      const v = verifySignatureLayer(layer, {
        verifier,
        digest: DIGEST,
        annotations: { env: 'prod' },
      });
      assert.deepEqual(v.claims?.optional, { env: 'prod' }, alg);
      assert.throws(
        () =>
          verifySignatureLayer(layer, {
            verifier: fixtureVerifier,
            digest: DIGEST,
          }),
        invalidSig,
        alg
      );
    }
  });

  it('never verifies a validly signed payload with duplicate keys', async () => {
    const hostile = Buffer.from(
      `{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"${OTHER}","docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}`
    );
    const { verifier, layer } = await signed(hostile);
    assert.throws(
      () => verifySignatureLayer(layer, { verifier, digest: DIGEST }),
      { name: 'VerificationError', code: 'PAYLOAD_MALFORMED' }
    );
    assert.throws(
      () => verifySignatureLayer(layer, { verifier, digest: OTHER }),
      { name: 'VerificationError', code: 'PAYLOAD_MALFORMED' }
    );
  });

  it('never verifies a validly signed, deeply nested payload', async () => {
    const hostile = Buffer.from(
      `{"critical":{"image":{"docker-manifest-digest":"${DIGEST}"}},"optional":{"x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`
    );
    const { verifier, layer } = await signed(hostile);
    assert.throws(
      () => verifySignatureLayer(layer, { verifier, digest: DIGEST }),
      { name: 'VerificationError', code: 'PAYLOAD_MALFORMED' }
    );
  });

  it('never verifies a validly signed payload over the payload size cap', async () => {
    const bytes = simpleSigningPayload({
      dockerReference: 'r/x',
      digest: DIGEST,
    });
    const { verifier, layer } = await signed(bytes);
    assert.throws(
      () =>
        verifySignatureLayer(layer, {
          verifier,
          digest: DIGEST,
          maxPayloadBytes: bytes.length - 1,
        }),
      { name: 'VerificationError', code: 'PAYLOAD_MALFORMED' }
    );
  });
});

describe('signatureFromAnnotations', () => {
  it('decodes the fixture signature to ASN.1 DER', () => {
    const der = signatureFromAnnotations(annotations);
    assert.equal(der[0], 0x30); // SEQUENCE
    assert.equal(der.length, der[1]! + 2);
  });
});
