import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as root from '../src/index.js';
import * as oci from '../src/oci/index.js';
import * as keys from '../src/keys/index.js';
import * as sign from '../src/sign/index.js';
import * as verify from '../src/verify/index.js';
import * as tlog from '../src/tlog/index.js';

// Pins the public surface: a change here is a change for library users.
const expected: Record<string, [Record<string, unknown>, string[]]> = {
  '.': [
    root,
    [
      'ERROR_EXIT_CODES',
      'KeyError',
      'RegistryClient',
      'RegistryError',
      'RekorClient',
      'SignetError',
      'TlogError',
      'UsageError',
      'VerificationError',
      'decryptCosignKey',
      'dockerCredentialProvider',
      'encryptCosignKey',
      'generatePrivateKey',
      'isSignetError',
      'parsePublicKeyPem',
      'parseReference',
      'publicKeyPem',
      'signImage',
      'signerFromPrivateKey',
      'verifierFromPublicKey',
      'verifyImageSignatures',
      'verifyImages',
      'verifyLogEntry',
    ],
  ],
  oci: [oci, ['RegistryClient', 'parseReference', 'signatureTag', 'MediaType']],
  keys: [
    keys,
    ['decryptCosignKey', 'importPrivateKeyPem', 'signerFromPrivateKey'],
  ],
  sign: [sign, ['signImage', 'appendSignatureLayers', 'logUploader']],
  verify: [
    verify,
    ['verifyImageSignatures', 'verifyLogEntry', 'verifyLayerBundle'],
  ],
  tlog: [
    tlog,
    [
      'verifyInclusion',
      'verifyConsistency',
      'RekorClient',
      'parseCosignBundle',
    ],
  ],
};

describe('public API', () => {
  it('the root export is exactly the pinned list', () => {
    assert.deepEqual(Object.keys(root).sort(), expected['.']![1]);
  });
  for (const [path, [mod, names]] of Object.entries(expected)) {
    it(`signet/${path} exports its main entry points`, () => {
      for (const n of names) {
        assert.notEqual(mod[n], undefined, `${path} should export ${n}`);
      }
    });
  }
});
