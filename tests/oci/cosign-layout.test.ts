import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ociDigest } from '../../src/core/digest.js';
import {
  BUNDLE_ANNOTATION,
  MAX_SIGNATURE_LAYERS,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  attestationTag,
  buildSignatureImage,
  goJsonString,
  parseAnnotationsFlag,
  parseSignatureManifest,
  sbomTag,
  signatureConfig,
  signatureTag,
  simpleSigningPayload,
  splitGoCsvRecord,
} from '../../src/oci/cosign-layout.js';
import { MediaType } from '../../src/oci/types.js';
import { sharedFixtures } from '../support/paths.js';

const dir = join(sharedFixtures, 'cosign', 'legacy-signature');
const fixture = (name: string): Buffer => readFileSync(join(dir, name));
const IMAGE_DIGEST =
  'sha256:4aa3054270f7a70b4528f2064ee90961788e1e1518703592ae4463de3b889dec';

function fixtureLayer(): {
  mediaType: string;
  size: number;
  digest: string;
  annotations: Record<string, string>;
} {
  const payload = fixture('payload.json');
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest: ociDigest(payload),
    annotations: {
      [SIGNATURE_ANNOTATION]: fixture('signature.b64').toString('utf8'),
    },
  };
}

describe('cosign-layout fixture reproduction', () => {
  it('builds the fixture payload byte for byte', () => {
    const payload = simpleSigningPayload({
      dockerReference: 'index.docker.io/namespace/image',
      digest: IMAGE_DIGEST,
    });
    assert.deepEqual(payload, fixture('payload.json'));
    assert.equal(payload.length, 247);
    assert.equal(
      ociDigest(payload),
      'sha256:7d1b98f9066cc2005503d6366a8bcad9469b2137f118c162c8c96ab2b8051cc0'
    );
  });

  it('treats an empty annotation map as optional null', () => {
    const payload = simpleSigningPayload({
      dockerReference: 'index.docker.io/namespace/image',
      digest: IMAGE_DIGEST,
      annotations: {},
    });
    assert.deepEqual(payload, fixture('payload.json'));
  });

  it('builds the fixture config and OCI manifest byte for byte', () => {
    const img = buildSignatureImage([fixtureLayer()], { docker: false });
    assert.deepEqual(img.configBytes, fixture('config.json'));
    assert.equal(
      img.configDigest,
      'sha256:f5ed127a8dd9677b68a7e37c54e17e403dcb8fd7ed2e6885029fe854b8088102'
    );
    assert.deepEqual(img.manifestBytes, fixture('manifest.json'));
    assert.equal(img.manifestBytes.length, 558);
    assert.equal(
      img.manifestDigest,
      'sha256:7eaa0f058d6a36f91ddac7744280dc4ae8bc5fa6cf13930cfe4c1fa9d2aec05e'
    );
    assert.equal(img.mediaType, MediaType.OciManifest);
    assert.equal(img.configMediaType, MediaType.OciConfig);
  });

  it('builds the COSIGN_DOCKER_MEDIA_TYPES variant byte for byte', () => {
    const img = buildSignatureImage([fixtureLayer()], { docker: true });
    assert.deepEqual(img.configBytes, fixture('config.json'));
    assert.equal(img.manifestBytes.length, 574);
    assert.equal(
      img.manifestDigest,
      'sha256:a321d9f603a4f564963f779636d84ef970506ef57f1fd54cfa64880a76a361e3'
    );
    assert.equal(img.mediaType, MediaType.DockerManifest);
    const expected = fixture('manifest.json')
      .toString('utf8')
      .replace(MediaType.OciManifest, MediaType.DockerManifest)
      .replace(MediaType.OciConfig, MediaType.DockerConfig);
    assert.equal(img.manifestBytes.toString('utf8'), expected);
  });

  it('parses the fixture manifest and re-serialises it identically', () => {
    const parsed = parseSignatureManifest(fixture('manifest.json'));
    assert.equal(parsed.mediaType, MediaType.OciManifest);
    assert.equal(parsed.layers.length, 1);
    assert.deepEqual(parsed.layers[0]?.annotations, {
      [SIGNATURE_ANNOTATION]: fixture('signature.b64').toString('utf8'),
    });
    const again = buildSignatureImage(parsed.layers, {
      docker: true,
      base: {
        manifestMediaType: parsed.mediaType ?? MediaType.OciManifest,
        configMediaType: parsed.config.mediaType,
      },
    });
    assert.deepEqual(again.manifestBytes, fixture('manifest.json'));
  });
});

describe('signatureTag', () => {
  it('derives .sig, .att and .sbom tags from the digest', () => {
    const hex = IMAGE_DIGEST.slice(7);
    assert.equal(signatureTag(IMAGE_DIGEST), `sha256-${hex}.sig`);
    assert.equal(attestationTag(IMAGE_DIGEST), `sha256-${hex}.att`);
    assert.equal(sbomTag(IMAGE_DIGEST), `sha256-${hex}.sbom`);
    assert.equal(signatureTag(IMAGE_DIGEST, 'p-'), `p-sha256-${hex}.sig`);
  });
  for (const bad of [
    'sha256:abc',
    'sha512:' + 'a'.repeat(128),
    IMAGE_DIGEST.toUpperCase(),
    '',
  ]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 20))}`, () => {
      assert.throws(() => signatureTag(bad), {
        name: 'SignetError',
        code: 'INVALID_REFERENCE',
      });
    });
  }
});

describe('simpleSigningPayload', () => {
  it('sorts optional keys by UTF-8 bytes and escapes like Go', () => {
    const payload = simpleSigningPayload({
      dockerReference: '127.0.0.1:5000/demo',
      digest: IMAGE_DIGEST,
      annotations: { z: 'a<b>&c', a: 'x=y', '\u{1F600}': 'e', '\uFF21': 'f' },
    });
    assert.equal(
      payload.toString('utf8'),
      '{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/demo"},' +
        `"image":{"docker-manifest-digest":"${IMAGE_DIGEST}"},` +
        '"type":"cosign container image signature"},' +
        '"optional":{"a":"x=y","z":"a\\u003cb\\u003e\\u0026c","\uFF21":"f","\u{1F600}":"e"}}'
    );
    // It stays valid JSON and round-trips the values.
    const parsed = JSON.parse(payload.toString('utf8')) as {
      optional: Record<string, string>;
    };
    assert.equal(parsed.optional['z'], 'a<b>&c');
  });

  it('refuses a malformed digest', () => {
    assert.throws(
      () => simpleSigningPayload({ dockerReference: 'r/x', digest: 'latest' }),
      { name: 'SignetError', code: 'INVALID_REFERENCE' }
    );
  });
});

describe('goJsonString', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['q"b\\', '"q\\"b\\\\"'],
    ['\b\f\n\r\t\u0001\u001f', '"\\b\\f\\n\\r\\t\\u0001\\u001f"'],
    ['<>&', '"\\u003c\\u003e\\u0026"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['\ud800x', '"\\ufffdx"'],
    ['x\udc00', '"x\\ufffd"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ['\u007f', '"\u007f"'],
  ];
  for (const [input, want] of cases) {
    it(`encodes ${JSON.stringify(input)}`, () => {
      assert.equal(goJsonString(input), want);
    });
  }
});

describe('signatureConfig', () => {
  it('adds one history entry and diff_id per layer, in order', () => {
    const a = fixtureLayer();
    const b = { ...a, digest: 'sha256:' + 'b'.repeat(64) };
    const cfg = signatureConfig([a, b]).toString('utf8');
    assert.equal(
      cfg,
      '{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"},{"created":"0001-01-01T00:00:00Z"}],' +
        `"os":"","rootfs":{"type":"layers","diff_ids":["${a.digest}","${b.digest}"]},"config":{}}`
    );
  });
  it('writes the empty image config for no layers', () => {
    assert.equal(
      signatureConfig([]).toString('utf8'),
      '{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers"},"config":{}}'
    );
  });
});

describe('buildSignatureImage', () => {
  it('keeps the base media types, annotations and subject when appending', () => {
    const img = buildSignatureImage(
      [{ ...fixtureLayer(), annotations: { b: '2', a: '1' } }],
      {
        docker: false,
        base: {
          manifestMediaType: MediaType.DockerManifest,
          configMediaType: MediaType.DockerConfig,
          annotations: { k: 'v' },
          subject: {
            mediaType: MediaType.OciManifest,
            size: 3,
            digest: IMAGE_DIGEST,
          },
        },
      }
    );
    const text = img.manifestBytes.toString('utf8');
    assert.equal(img.mediaType, MediaType.DockerManifest);
    assert.match(
      text,
      /"annotations":\{"a":"1","b":"2"\}\}\],"annotations":\{"k":"v"\},"subject":\{/
    );
    assert.match(
      text,
      /"config":\{"mediaType":"application\/vnd.docker.container.image.v1\+json"/
    );
  });
  it('refuses more than the layer limit', () => {
    const layers = Array.from({ length: MAX_SIGNATURE_LAYERS + 1 }, () =>
      fixtureLayer()
    );
    assert.throws(() => buildSignatureImage(layers, { docker: false }), {
      name: 'SignetError',
      code: 'MALFORMED_INPUT',
    });
  });
});

describe('parseSignatureManifest guards', () => {
  const good = JSON.parse(fixture('manifest.json').toString('utf8')) as Record<
    string,
    unknown
  >;
  const layer = (good['layers'] as unknown[])[0] as Record<string, unknown>;
  const variants: [string, string][] = [
    ['not JSON', '{"schemaVersion":2,'],
    ['a JSON array', '[]'],
    ['JSON null', 'null'],
    ['schemaVersion 1', JSON.stringify({ ...good, schemaVersion: 1 })],
    [
      'an index media type',
      JSON.stringify({ ...good, mediaType: MediaType.OciIndex }),
    ],
    ['an index body', JSON.stringify({ ...good, manifests: [] })],
    ['layers missing', JSON.stringify({ ...good, layers: undefined })],
    ['config missing', JSON.stringify({ ...good, config: undefined })],
    [
      'negative size',
      JSON.stringify({ ...good, layers: [{ ...layer, size: -1 }] }),
    ],
    [
      'fractional size',
      JSON.stringify({ ...good, layers: [{ ...layer, size: 1.5 }] }),
    ],
    [
      'string size',
      JSON.stringify({ ...good, layers: [{ ...layer, size: '247' }] }),
    ],
    [
      'bad digest',
      JSON.stringify({ ...good, layers: [{ ...layer, digest: 'sha256:zz' }] }),
    ],
    [
      'non-string annotation',
      JSON.stringify({
        ...good,
        layers: [{ ...layer, annotations: { [SIGNATURE_ANNOTATION]: 1 } }],
      }),
    ],
    [
      'annotations array',
      JSON.stringify({ ...good, layers: [{ ...layer, annotations: [] }] }),
    ],
    ['layer not an object', JSON.stringify({ ...good, layers: ['x'] })],
    [
      'deep nesting',
      '{"schemaVersion":2,"x":' + '['.repeat(200000) + ']'.repeat(200000) + '}',
    ],
    [
      'too many layers',
      JSON.stringify({
        ...good,
        layers: Array.from({ length: 1001 }, () => layer),
      }),
    ],
  ];
  for (const [name, text] of variants) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseSignatureManifest(Buffer.from(text)), {
        name: 'SignetError',
        code: 'MALFORMED_INPUT',
      });
    });
  }
  it('accepts exactly 1000 layers and a body without mediaType', () => {
    const text = JSON.stringify({
      ...good,
      mediaType: undefined,
      layers: Array.from({ length: 1000 }, () => layer),
    });
    const parsed = parseSignatureManifest(Buffer.from(text));
    assert.equal(parsed.layers.length, 1000);
    assert.equal(parsed.mediaType, undefined);
  });
  it('honours a lower layer limit', () => {
    assert.throws(
      () => parseSignatureManifest(fixture('manifest.json'), { maxLayers: 0 }),
      {
        code: 'MALFORMED_INPUT',
      }
    );
  });
  it('takes the last of duplicate keys, as Go does', () => {
    const text = fixture('manifest.json')
      .toString('utf8')
      .replace('{"schemaVersion":2,', '{"schemaVersion":1,"schemaVersion":2,');
    assert.equal(parseSignatureManifest(Buffer.from(text)).layers.length, 1);
  });
  it('keeps a bundle annotation as given', () => {
    const text = JSON.stringify({
      ...good,
      layers: [
        {
          ...layer,
          annotations: {
            [SIGNATURE_ANNOTATION]: 'x',
            [BUNDLE_ANNOTATION]: '{}',
          },
        },
      ],
    });
    assert.equal(
      parseSignatureManifest(Buffer.from(text)).layers[0]?.annotations?.[
        BUNDLE_ANNOTATION
      ],
      '{}'
    );
  });
});

describe('parseAnnotationsFlag', () => {
  it('splits on the first = and keeps the rest of the value', () => {
    assert.deepEqual(parseAnnotationsFlag(['a=b=c', 'x=']), {
      a: 'b=c',
      x: '',
    });
  });
  it('lets a later key win', () => {
    assert.deepEqual(parseAnnotationsFlag(['k=1', 'k=2']), { k: '2' });
  });
  it('splits comma-separated values as CSV, as pflag does', () => {
    assert.deepEqual(parseAnnotationsFlag(['a=1,b=2']), { a: '1', b: '2' });
    assert.deepEqual(parseAnnotationsFlag(['"k=a,b"']), { k: 'a,b' });
    assert.deepEqual(parseAnnotationsFlag(['"k=say ""hi"""']), {
      k: 'say "hi"',
    });
  });
  it('rejects an entry without = (cosign: unable to parse annotation)', () => {
    assert.throws(() => parseAnnotationsFlag(['k=a,b']), {
      name: 'UsageError',
      code: 'USAGE',
    });
    assert.throws(() => parseAnnotationsFlag(['novalue']), {
      name: 'UsageError',
      code: 'USAGE',
    });
    assert.throws(() => parseAnnotationsFlag(['a=1,']), {
      name: 'UsageError',
      code: 'USAGE',
    });
  });
  it('rejects a bare quote and an unterminated quote', () => {
    assert.throws(() => parseAnnotationsFlag(['k=a"b']), {
      name: 'UsageError',
    });
    assert.throws(() => parseAnnotationsFlag(['"k=ab']), {
      name: 'UsageError',
    });
  });
  it('treats an empty value as no annotation and reads only the first line', () => {
    assert.deepEqual(parseAnnotationsFlag(['']), {});
    assert.deepEqual(splitGoCsvRecord('a=1\nb=2'), ['a=1']);
    assert.deepEqual(splitGoCsvRecord('\na=1'), ['a=1']);
  });
  it('is safe against __proto__ keys', () => {
    const out = parseAnnotationsFlag(['__proto__=x']);
    assert.equal(Object.keys(out).length, 1);
    assert.equal(out['__proto__'], 'x');
  });
});
