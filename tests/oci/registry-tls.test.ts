/**
 * TLS against the real registry serving a self-signed certificate:
 * verification is on by default and an untrusted certificate is never a
 * reason to fall back to plain http; --allow-insecure-registry skips it;
 * a trusted CA makes it pass with verification.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryClient } from '../../src/oci/registry.js';
import type { RegistryClientOptions } from '../../src/oci/registry.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { startRegistry } from '../support/registry.js';
import type { RunningRegistry } from '../support/registry.js';
import { pushRandomImage } from '../support/images.js';

describe('TLS registry', () => {
  let reg: RunningRegistry;
  const clients: RegistryClient[] = [];
  const make = (o: RegistryClientOptions = {}) => {
    const c = new RegistryClient({
      credentials: staticCredentialProvider({}),
      ...o,
    });
    clients.push(c);
    return c;
  };
  before(async () => {
    reg = await startRegistry({ tls: true });
  });
  after(async () => {
    for (const c of clients) await c.close();
    await reg.stop();
  });
  const repo = () => ({ registry: reg.host, repository: 'tls/app' });

  it('verifies certificates by default and does not fall back to http', async () => {
    const c = make();
    await assert.rejects(c.getManifest(repo(), 'latest'), {
      name: 'RegistryError',
      code: 'REGISTRY_INSECURE_REFUSED',
    });
    // one TLS attempt, no plain-http retry
    assert.equal(c.stats.requests, 1);
  });

  it('works with insecureSkipTlsVerify (--allow-insecure-registry)', async () => {
    const c = make({ insecureSkipTlsVerify: true });
    const img = await pushRandomImage(c, repo(), { tag: 'v1' });
    assert.equal((await c.baseUrl(reg.host)).protocol, 'https:');
    assert.equal((await c.getManifest(repo(), 'v1')).digest, img.digest);
  });

  it('works with verification when the certificate is trusted', async () => {
    assert.ok(reg.caPem);
    const c = make({ ca: reg.caPem });
    const img = await pushRandomImage(c, repo(), { tag: 'v2' });
    assert.equal((await c.headManifest(repo(), 'v2'))?.digest, img.digest);
  });
});
