import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ociDigest } from '../../src/core/digest.js';
import { RegistryError, SignetError } from '../../src/errors.js';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  simpleSigningPayload,
  type SignatureLayer,
} from '../../src/oci/cosign-layout.js';
import {
  isLayerPresent,
  isMediaTypeRejection,
  type NewSignatureLayer,
} from '../../src/sign/index.js';
import { newKey } from './support.js';

const payload = simpleSigningPayload({
  dockerReference: '127.0.0.1:5000/demo/app',
  digest: ociDigest('image'),
  annotations: { env: 'prod' },
});
const digest = ociDigest(payload);

describe("isLayerPresent (cosign's dedup rule)", async () => {
  const me = newKey();
  const other = newKey();
  const mySig = (await me.signer.sign(payload)).toString('base64');
  const mySig2 = (await me.signer.sign(payload)).toString('base64');
  const otherSig = (await other.signer.sign(payload)).toString('base64');
  const wanted: NewSignatureLayer = {
    payload,
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    annotations: { [SIGNATURE_ANNOTATION]: mySig, extra: 'x' },
    dedupVerifier: me.verifier,
  };
  const layer = (
    annotations: Record<string, string>,
    over: Partial<SignatureLayer> = {}
  ): SignatureLayer => ({
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest,
    annotations,
    ...over,
  });
  const cases: [string, SignatureLayer[], boolean][] = [
    [
      'the identical descriptor',
      [layer({ [SIGNATURE_ANNOTATION]: mySig, extra: 'x' })],
      true,
    ],
    [
      'another signature by the same key (ECDSA is randomised)',
      [layer({ [SIGNATURE_ANNOTATION]: mySig2, extra: 'x' })],
      true,
    ],
    [
      'a layer with extra annotations beyond ours',
      [layer({ [SIGNATURE_ANNOTATION]: mySig2, extra: 'x', more: 'y' })],
      true,
    ],
    [
      'a signature by another key',
      [layer({ [SIGNATURE_ANNOTATION]: otherSig, extra: 'x' })],
      false,
    ],
    [
      'a different value of our annotation',
      [layer({ [SIGNATURE_ANNOTATION]: mySig2, extra: 'z' })],
      false,
    ],
    [
      'our annotation missing',
      [layer({ [SIGNATURE_ANNOTATION]: mySig2 })],
      false,
    ],
    [
      'another media type',
      [
        layer(
          { [SIGNATURE_ANNOTATION]: mySig2, extra: 'x' },
          { mediaType: 'application/vnd.dsse.envelope.v1+json' }
        ),
      ],
      false,
    ],
    [
      'another payload digest',
      [
        layer(
          { [SIGNATURE_ANNOTATION]: mySig2, extra: 'x' },
          { digest: ociDigest('other') }
        ),
      ],
      false,
    ],
    [
      'an empty signature',
      [layer({ [SIGNATURE_ANNOTATION]: '', extra: 'x' })],
      false,
    ],
    [
      'invalid base64',
      [layer({ [SIGNATURE_ANNOTATION]: 'not base64!', extra: 'x' })],
      false,
    ],
    ['no layers', [], false],
    [
      'a match after non-matching layers',
      [
        layer({ [SIGNATURE_ANNOTATION]: otherSig, extra: 'x' }),
        layer({ [SIGNATURE_ANNOTATION]: mySig2, extra: 'x' }),
      ],
      true,
    ],
  ];
  for (const [name, existing, want] of cases) {
    it(`${want ? 'finds' : 'does not find'} ${name}`, () => {
      assert.equal(isLayerPresent(wanted, digest, existing), want);
    });
  }
  it('without a verifier only the identical signature counts', () => {
    const noVerifier = { ...wanted, dedupVerifier: undefined };
    assert.equal(
      isLayerPresent(noVerifier, digest, [
        layer({ [SIGNATURE_ANNOTATION]: mySig2, extra: 'x' }),
      ]),
      false
    );
    assert.equal(
      isLayerPresent(noVerifier, digest, [
        layer({ [SIGNATURE_ANNOTATION]: mySig, extra: 'x' }),
      ]),
      true
    );
  });
});

describe('isMediaTypeRejection', () => {
  const cases: [string, unknown, boolean][] = [
    ['415', new RegistryError('REGISTRY_PROTOCOL', 'x', { status: 415 }), true],
    [
      '400 MANIFEST_INVALID',
      new RegistryError('REGISTRY_PROTOCOL', 'x', {
        status: 400,
        ociCode: 'MANIFEST_INVALID',
      }),
      true,
    ],
    [
      '405 UNSUPPORTED',
      new RegistryError('REGISTRY_UNSUPPORTED', 'x', {
        status: 405,
        ociCode: 'UNSUPPORTED',
      }),
      true,
    ],
    [
      '403 DENIED naming a manifest class',
      new RegistryError(
        'REGISTRY_DENIED',
        'denied: unknown manifest class for application/vnd.oci.image.manifest.v1+json',
        { status: 403, ociCode: 'DENIED' }
      ),
      true,
    ],
    [
      '403 DENIED for permissions',
      new RegistryError(
        'REGISTRY_DENIED',
        'denied: requested access to the resource is denied',
        { status: 403, ociCode: 'DENIED' }
      ),
      false,
    ],
    [
      '400 MANIFEST_BLOB_UNKNOWN',
      new RegistryError('REGISTRY_PROTOCOL', 'x', {
        status: 400,
        ociCode: 'MANIFEST_BLOB_UNKNOWN',
      }),
      false,
    ],
    [
      '500 MANIFEST_INVALID',
      new RegistryError('REGISTRY_UNAVAILABLE', 'x', {
        status: 500,
        ociCode: 'MANIFEST_INVALID',
      }),
      false,
    ],
    [
      '401',
      new RegistryError('REGISTRY_UNAUTHORIZED', 'x', {
        status: 401,
        ociCode: 'UNAUTHORIZED',
      }),
      false,
    ],
    ['a non-registry error', new SignetError('INTERNAL', 'x'), false],
  ];
  for (const [name, err, want] of cases) {
    it(`${want ? 'falls back on' : 'does not fall back on'} ${name}`, () => {
      assert.equal(isMediaTypeRejection(err), want);
    });
  }
});
