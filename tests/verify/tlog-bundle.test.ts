/**
 * verifyLayerBundle / verifyLayerTlog (pure paths): bundles made here with a
 * throwaway log key over canonical hashedrekord bodies, then altered.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalJsonBytes } from '../../src/core/canonical-json.js';
import { signerFromPrivateKey } from '../../src/keys/index.js';
import { BUNDLE_ANNOTATION } from '../../src/oci/cosign-layout.js';
import { signatureProposal } from '../../src/sign/tlog.js';
import { formatCosignBundle } from '../../src/tlog/bundle.js';
import { computeLogId } from '../../src/tlog/checkpoint.js';
import { signSET } from '../../src/tlog/set.js';
import {
  entryDigest,
  verifyLayerBundle,
  verifyLayerTlog,
} from '../../src/verify/tlog-bundle.js';

const bad = { name: 'VerificationError', code: 'TLOG_VERIFICATION' };

function logKeys(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

async function fixture(opts: { integratedTime?: number } = {}) {
  const log = logKeys();
  const signerPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = signerFromPrivateKey(signerPair.privateKey);
  const payload = Buffer.from('{"critical":{}}');
  const signature = await signer.sign(payload);
  const body = canonicalJsonBytes(
    signatureProposal({ payload, signature, publicKey: signer.publicKey })
  );
  const fields = {
    body: body.toString('base64'),
    integratedTime: opts.integratedTime ?? 1_700_000_000,
    logID: computeLogId(log.publicKey).toString('hex'),
    logIndex: 42,
  };
  const set = signSET(fields, log.privateKey);
  const bundle = formatCosignBundle({
    body,
    integratedTime: BigInt(fields.integratedTime),
    logID: computeLogId(log.publicKey),
    logIndex: 42n,
    signedEntryTimestamp: set,
  });
  return {
    log,
    signer,
    payload,
    signature,
    bundle,
    layer: { payload, signature, annotations: undefined },
    policy: { trustedLogs: [log.publicKey], publicKey: signer.publicKey },
  };
}

describe('verifyLayerBundle', () => {
  it('accepts a bundle for this layer signed by a trusted log', async () => {
    const f = await fixture();
    const v = verifyLayerBundle(f.bundle, f.layer, f.policy);
    assert.equal(v.mode, 'bundle');
    assert.equal(v.entry.logIndex, 42n);
    assert.ok(v.verification.checks.includes('signed-entry-timestamp'));
  });

  it('rejects a bundle by an untrusted log, another key, signature or payload', async () => {
    const f = await fixture();
    assert.throws(
      () =>
        verifyLayerBundle(f.bundle, f.layer, {
          ...f.policy,
          trustedLogs: [logKeys().publicKey],
        }),
      bad
    );
    assert.throws(
      () =>
        verifyLayerBundle(f.bundle, f.layer, {
          ...f.policy,
          publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' })
            .publicKey,
        }),
      bad
    );
    const sig2 = Buffer.from(f.signature);
    sig2[sig2.length - 1]! ^= 1;
    assert.throws(
      () =>
        verifyLayerBundle(f.bundle, { ...f.layer, signature: sig2 }, f.policy),
      bad
    );
    assert.throws(
      () =>
        verifyLayerBundle(
          f.bundle,
          { ...f.layer, payload: Buffer.from('{"critical":{} }') },
          f.policy
        ),
      bad
    );
  });

  it('rejects altered SET, integratedTime, logIndex and malformed bundles', async () => {
    const f = await fixture();
    const o = JSON.parse(f.bundle) as {
      SignedEntryTimestamp: string;
      Payload: { integratedTime: number; logIndex: number };
    };
    const variants: unknown[] = [
      {
        ...o,
        SignedEntryTimestamp: Buffer.from('not a signature').toString('base64'),
      },
      { ...o, Payload: { ...o.Payload, integratedTime: 1 } },
      { ...o, Payload: { ...o.Payload, logIndex: 43 } },
    ];
    for (const v of variants) {
      assert.throws(
        () => verifyLayerBundle(JSON.stringify(v), f.layer, f.policy),
        bad
      );
    }
    for (const text of ['', 'null', '{}', '{"Payload":{}}', f.bundle + 'x']) {
      assert.throws(() => verifyLayerBundle(text, f.layer, f.policy), bad);
    }
  });

  it('rejects an entry integrated in the future', async () => {
    const f = await fixture({
      integratedTime: Math.floor(Date.now() / 1000) + 3600,
    });
    assert.throws(() => verifyLayerBundle(f.bundle, f.layer, f.policy), bad);
  });
});

describe('verifyLayerTlog', () => {
  it('uses the annotation, and fails offline without one', async () => {
    const f = await fixture();
    const v = await verifyLayerTlog(
      { ...f.layer, annotations: { [BUNDLE_ANNOTATION]: f.bundle } },
      f.policy
    );
    assert.equal(v.mode, 'bundle');
    await assert.rejects(verifyLayerTlog(f.layer, f.policy), bad);
  });

  it('names the digest the key signs with', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    assert.equal(entryDigest(Buffer.from('x'), p384).algorithm, 'sha384');
    const ed = generateKeyPairSync('ed25519').publicKey;
    assert.equal(entryDigest(Buffer.from('x'), ed).algorithm, 'sha512');
  });
});
