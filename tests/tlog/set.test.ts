import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  setPayload,
  signSET,
  verifySET,
  type SetFields,
} from '../../src/tlog/set.js';

const rekorKey = createPublicKey(
  readFileSync(join(sharedFixtures, 'rekor/keys/rekor.sigstore.dev.pub.pem'))
);
const annotation = JSON.parse(
  readFileSync(
    join(sharedFixtures, 'cosign/rekor-bundle/annotation.json'),
    'utf8'
  )
) as { SignedEntryTimestamp: string; Payload: SetFields };
const sig = Buffer.from(annotation.SignedEntryTimestamp, 'base64');
const vErr = { name: 'VerificationError', code: 'TLOG_VERIFICATION' };

describe('setPayload', () => {
  it('produces the exact signed bytes of the cosign fixture', () => {
    const want = readFileSync(
      join(sharedFixtures, 'cosign/rekor-bundle/set-payload.json')
    );
    assert.deepEqual(setPayload(annotation.Payload), want);
  });
  it('treats bigint and number indexes alike', () => {
    const p = annotation.Payload;
    assert.deepEqual(
      setPayload({
        ...p,
        logIndex: BigInt(p.logIndex),
        integratedTime: BigInt(p.integratedTime),
      }),
      setPayload(p)
    );
  });
  for (const [name, patch] of [
    ['a negative index', { logIndex: -1 }],
    ['an index beyond 2^53', { logIndex: 2n ** 53n + 1n }],
    ['an upper-case log ID', { logID: annotation.Payload.logID.toUpperCase() }],
    ['a body that is not base64', { body: 'not base64!' }],
  ] as const) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => setPayload({ ...annotation.Payload, ...patch }),
        vErr
      );
    });
  }
});

describe('verifySET', () => {
  it('accepts the real public-good SET of the cosign bundle annotation', () => {
    verifySET(annotation.Payload, sig, rekorKey);
  });
  const p = annotation.Payload;
  const tampers: [string, SetFields][] = [
    [
      'integratedTime + 1',
      { ...p, integratedTime: Number(p.integratedTime) + 1 },
    ],
    ['another log index', { ...p, logIndex: Number(p.logIndex) + 1 }],
    ['an edited body', { ...p, body: p.body.replace(/^ey/, 'EY') }],
    ['another log ID', { ...p, logID: '0'.repeat(64) }],
  ];
  for (const [name, fields] of tampers) {
    it(`rejects ${name}`, () => {
      assert.throws(() => verifySET(fields, sig, rekorKey), vErr);
    });
  }
  it('rejects garbage signature bytes and another key', () => {
    assert.throws(() => verifySET(p, Buffer.from('nope'), rekorKey), vErr);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(() => verifySET(p, sig, other.publicKey), vErr);
  });
  it('round-trips signSET with a private key and with a sign function', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    verifySET(p, signSET(p, pair.privateKey), pair.publicKey);
    const ed = generateKeyPairSync('ed25519');
    verifySET(p, signSET(p, ed.privateKey), ed.publicKey);
  });
});
