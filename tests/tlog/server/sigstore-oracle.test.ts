/**
 * Independent oracle: entries our log server produces, wrapped as Sigstore
 * bundles (v0.3), pass @sigstore/verify's transparency-log checks (SET,
 * checkpoint signature with key hint and name, Merkle inclusion, body vs
 * bundle content) — code we did not write.
 */
import assert from 'node:assert/strict';
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  Verifier,
  toSignedEntity,
  toTrustMaterial,
  type TrustMaterial,
} from '@sigstore/verify';
import { startLogServer, type RunningLogServer } from '../../support/tlog.js';
import { BACKENDS } from './backends.js';
import type { LogEntryAnonJson } from '../../../src/tlog/server/log.js';

type AnonEntry = LogEntryAnonJson;

/** Rekor v1 API entry → bundle TransparencyLogEntry (spec §7 mapping). */
function toBundleEntry(e: AnonEntry): unknown {
  const body = JSON.parse(Buffer.from(e.body, 'base64').toString()) as {
    kind: string;
    apiVersion: string;
  };
  const p = e.verification.inclusionProof;
  const b64 = (hex: string): string =>
    Buffer.from(hex, 'hex').toString('base64');
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: b64(e.logID) },
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(e.integratedTime),
    inclusionPromise: {
      signedEntryTimestamp: e.verification.signedEntryTimestamp,
    },
    inclusionProof: {
      logIndex: String(p.logIndex),
      rootHash: b64(p.rootHash),
      treeSize: String(p.treeSize),
      hashes: p.hashes.map(b64),
      checkpoint: { envelope: p.checkpoint },
    },
    canonicalizedBody: e.body,
  };
}

function trustMaterial(
  log: RunningLogServer,
  signer: KeyObject
): TrustMaterial {
  const logKey = createPublicKey(log.publicKeyPem);
  const der = logKey.export({ type: 'spki', format: 'der' });
  const root = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: log.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: der.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
        logId: { keyId: createHash('sha256').update(der).digest('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
  return toTrustMaterial(root, {
    'signer-key': {
      rawBytes: createPublicKey(signer).export({ type: 'spki', format: 'der' }),
      keyDetails: 4, // PKIX_ECDSA_P256_SHA_256 in the protobuf enum
      validFor: { start: new Date('2020-01-01T00:00:00Z') },
    },
  });
}

async function post(log: RunningLogServer, body: unknown): Promise<AnonEntry> {
  const res = await fetch(`${log.url}/api/v1/log/entries`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
  const obj = (await res.json()) as Record<string, AnonEntry>;
  return Object.values(obj)[0] as AnonEntry;
}

for (const backend of BACKENDS) {
  describe(`@sigstore/verify accepts our log's entries (${backend})`, () => {
    let log: RunningLogServer;
    const signer = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
    }).privateKey;
    const pemB64 = Buffer.from(
      createPublicKey(signer).export({ type: 'spki', format: 'pem' })
    ).toString('base64');

    before(async () => {
      log = await startLogServer({ backend });
      // Some entries first, so proofs are not trivially empty.
      for (let i = 0; i < 7; i++) {
        const a = Buffer.from(`warm-up ${i}`);
        await post(log, {
          apiVersion: '0.0.1',
          kind: 'hashedrekord',
          spec: {
            data: {
              hash: {
                algorithm: 'sha256',
                value: createHash('sha256').update(a).digest('hex'),
              },
            },
            signature: {
              content: sign('sha256', a, signer).toString('base64'),
              publicKey: { content: pemB64 },
            },
          },
        });
      }
    });
    after(async () => {
      await log.stop();
    });

    it('verifies a hashedrekord message-signature bundle end to end', async () => {
      const artifact = Buffer.from('artifact for the sigstore oracle');
      const digest = createHash('sha256').update(artifact).digest();
      const signature = sign('sha256', artifact, signer);
      const entry = await post(log, {
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: {
            hash: { algorithm: 'sha256', value: digest.toString('hex') },
          },
          signature: {
            content: signature.toString('base64'),
            publicKey: { content: pemB64 },
          },
        },
      });
      assert.ok(entry.verification.inclusionProof.hashes.length > 0);
      const bundle = bundleFromJSON({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          publicKey: { hint: 'signer-key' },
          tlogEntries: [toBundleEntry(entry)],
          timestampVerificationData: { rfc3161Timestamps: [] },
        },
        messageSignature: {
          messageDigest: {
            algorithm: 'SHA2_256',
            digest: digest.toString('base64'),
          },
          signature: signature.toString('base64'),
        },
      });
      const verifier = new Verifier(trustMaterial(log, signer));
      const result = verifier.verify(toSignedEntity(bundle, artifact));
      assert.ok(result.key);

      // The same bundle with a tampered SET or proof must fail in the oracle too.
      const tamperedSet = structuredClone(entry);
      tamperedSet.integratedTime += 1;
      const badProof = structuredClone(entry);
      badProof.verification.inclusionProof.hashes[0] = '00'.repeat(32);
      for (const bad of [tamperedSet, badProof]) {
        const b = bundleFromJSON({
          mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
          verificationMaterial: {
            publicKey: { hint: 'signer-key' },
            tlogEntries: [toBundleEntry(bad)],
            timestampVerificationData: { rfc3161Timestamps: [] },
          },
          messageSignature: {
            messageDigest: {
              algorithm: 'SHA2_256',
              digest: digest.toString('base64'),
            },
            signature: signature.toString('base64'),
          },
        });
        assert.throws(() => verifier.verify(toSignedEntity(b, artifact)));
      }
    });

    it('verifies a dsse 0.0.1 DSSE bundle end to end', async () => {
      const payload = Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [],
          predicateType: 'x',
          predicate: {},
        })
      );
      const payloadType = 'application/vnd.in-toto+json';
      const pae = Buffer.concat([
        Buffer.from(
          `DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `
        ),
        payload,
      ]);
      const sig = sign('sha256', pae, signer).toString('base64');
      const envelope = {
        payloadType,
        payload: payload.toString('base64'),
        signatures: [{ keyid: '', sig }],
      };
      const entry = await post(log, {
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          proposedContent: {
            envelope: JSON.stringify(envelope),
            verifiers: [pemB64],
          },
        },
      });
      const bundle = bundleFromJSON({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        verificationMaterial: {
          publicKey: { hint: 'signer-key' },
          tlogEntries: [toBundleEntry(entry)],
          timestampVerificationData: { rfc3161Timestamps: [] },
        },
        dsseEnvelope: envelope,
      });
      const verifier = new Verifier(trustMaterial(log, signer));
      assert.ok(verifier.verify(toSignedEntity(bundle)).key);
    });
  });
}
