import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  generateKeyPairSync,
  createPublicKey,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixtures } from '../support/paths.js';
import {
  computeLogId,
  formatCheckpoint,
  logSigner,
  parseCheckpoint,
  parseSignedNote,
  rekorKeyHint,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
} from '../../src/tlog/checkpoint.js';

const rekorKey = createPublicKey(
  readFileSync(join(sharedFixtures, 'rekor/keys/rekor.sigstore.dev.pub.pem'))
);

interface ApiEntry {
  verification: {
    inclusionProof: { checkpoint: string; treeSize: number; rootHash: string };
  };
}
function apiEntry(name: string): ApiEntry {
  const doc = JSON.parse(
    readFileSync(join(sharedFixtures, 'rekor/v1/api-logentry', name), 'utf8')
  ) as Record<string, ApiEntry>;
  return Object.values(doc)[0] as ApiEntry;
}

const realEntries = [
  'logIndex-6757503.json',
  'logIndex-150614800.json',
  'logIndex-155690850.json',
];
const vErr = { name: 'VerificationError', code: 'TLOG_VERIFICATION' };

describe('log key identity', () => {
  it('computes the public-good log ID and key hint', () => {
    assert.equal(
      computeLogId(rekorKey).toString('hex'),
      'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d'
    );
    assert.equal(rekorKeyHint(rekorKey).toString('hex'), 'c0d23d6a');
  });
  it('gives the same ID for a private key and its public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
    });
    assert.deepEqual(computeLogId(privateKey), computeLogId(publicKey));
  });
});

describe('verifyCheckpoint with real Rekor checkpoints', () => {
  for (const name of realEntries) {
    it(`verifies ${name}`, () => {
      const { checkpoint, treeSize, rootHash } =
        apiEntry(name).verification.inclusionProof;
      const cp = verifyCheckpoint(checkpoint, rekorKey, {
        name: 'rekor.sigstore.dev',
      });
      assert.equal(cp.size, BigInt(treeSize));
      assert.equal(cp.rootHash.toString('hex'), rootHash);
      assert.match(cp.origin, /^rekor\.sigstore\.dev - \d+$/);
    });
  }
  it('keeps the legacy Timestamp extension line as part of the signed text', () => {
    const { checkpoint } = apiEntry('logIndex-6757503.json').verification
      .inclusionProof;
    const cp = verifyCheckpoint(checkpoint, rekorKey);
    assert.deepEqual(cp.extensions, ['Timestamp: 1689107716054191855']);
    const dropped = checkpoint.replace('Timestamp: 1689107716054191855\n', '');
    assert.throws(() => verifyCheckpoint(dropped, rekorKey), vErr);
  });

  const base = apiEntry('logIndex-155690850.json').verification.inclusionProof
    .checkpoint;
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tampers: {
    name: string;
    note: string;
    key?: KeyObject;
    opts?: object;
  }[] = [
    {
      name: 'a hyphen instead of the em dash',
      note: base.replace('\u2014', '-'),
    },
    { name: 'a missing final newline', note: base.slice(0, -1) },
    {
      name: 'an edited size',
      note: base.replace(
        /\n(\d+)\n/,
        (_, n: string) => `\n${BigInt(n) + 1n}\n`
      ),
    },
    {
      name: 'an edited origin',
      note: base.replace('1193050959916656506', '1193050959916656507'),
    },
    { name: 'a key that did not sign it', note: base, key: other.publicKey },
    {
      name: 'an unexpected origin',
      note: base,
      opts: { origin: 'rekor.sigstore.dev - 2605736670972794746' },
    },
    {
      name: 'an unexpected key name',
      note: base,
      opts: { name: 'rekor.example.com' },
    },
    { name: 'a CRLF note', note: base.replace(/\n/g, '\r\n') },
    {
      name: 'no signature line',
      note: base.slice(0, base.lastIndexOf('\n\n') + 2),
    },
  ];
  for (const t of tampers) {
    it(`rejects ${t.name}`, () => {
      assert.throws(
        () => verifyCheckpoint(t.note, t.key ?? rekorKey, t.opts),
        vErr
      );
    });
  }
  it('rejects a checkpoint whose hint matches but whose signature was swapped', () => {
    const sig = base.slice(base.lastIndexOf('\n\n') + 2);
    const otherSig = apiEntry('logIndex-150614800.json').verification
      .inclusionProof.checkpoint;
    const forged = base.replace(
      sig,
      otherSig.slice(otherSig.lastIndexOf('\n\n') + 2)
    );
    assert.throws(() => verifyCheckpoint(forged, rekorKey), vErr);
  });
  it('ignores an extra signature line from an unknown key (C2SP)', () => {
    const { text } = parseSignedNote(base);
    const extra = signNote(
      text,
      'witness.example',
      Buffer.from([1, 2, 3, 4]),
      logSigner(other.privateKey)
    );
    const withWitness = base + extra.slice(extra.lastIndexOf('\n\n') + 2);
    assert.equal(parseSignedNote(withWitness).signatures.length, 2);
    const cp = verifyCheckpoint(withWitness, rekorKey);
    assert.equal(cp.origin, 'rekor.sigstore.dev - 1193050959916656506');
  });
});

describe('signing checkpoints', () => {
  const keys: [string, ReturnType<typeof generateKeyPairSync>][] = [
    ['ECDSA P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['Ed25519', generateKeyPairSync('ed25519')],
    ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ];
  for (const [label, pair] of keys) {
    it(`round-trips with ${label}`, () => {
      const root = Buffer.alloc(32, 7);
      const note = signCheckpoint(
        { origin: 'log.example - 42', size: 12345678901234n, rootHash: root },
        'log.example',
        pair.privateKey
      );
      const cp = verifyCheckpoint(note, pair.publicKey, {
        origin: 'log.example - 42',
      });
      assert.equal(cp.size, 12345678901234n);
      assert.deepEqual(cp.rootHash, root);
      const sig = parseSignedNote(note).signatures[0];
      assert.deepEqual(sig?.keyHint, rekorKeyHint(pair.publicKey));
    });
  }
  it('formats the exact Rekor v1 body', () => {
    assert.equal(
      formatCheckpoint({
        origin: 'rekor.sigstore.dev - 2605736670972794746',
        size: 75408393,
        rootHash: Buffer.from(
          'Fnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=',
          'base64'
        ),
      }),
      'rekor.sigstore.dev - 2605736670972794746\n75408393\nFnnj13Uu1jdksPc4HZLapKX329dVlD5+MGNsiqBq1XM=\n'
    );
  });
  it('refuses a signer name that is not the origin host', () => {
    const pair = keys[0]?.[1];
    assert.ok(pair);
    const note = signCheckpoint(
      { origin: 'log.example - 1', size: 1, rootHash: Buffer.alloc(32) },
      'other.example',
      pair.privateKey
    );
    assert.throws(() => verifyCheckpoint(note, pair.publicKey), vErr);
  });
  it('rejects malformed bodies', () => {
    for (const body of [
      'o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n',
      'o\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n',
      'o\n18446744073709551616\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n',
      'o\n1\nAAAA\n',
      '\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n',
      'o\n1\n',
    ]) {
      assert.throws(() => parseCheckpoint(body), vErr, body);
    }
  });
});
