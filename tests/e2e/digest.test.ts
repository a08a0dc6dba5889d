/**
 * `signet digest` and `signet manifest` as child processes against the
 * real registry (anonymous, htpasswd Basic, token auth), compared with
 * what skopeo computes; and the one-line errors with distinct exit codes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ERROR_EXIT_CODES } from '../../src/errors.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { staticCredentialProvider } from '../../src/oci/credentials.js';
import { MediaType } from '../../src/oci/types.js';
import { runSignet } from '../support/cli.js';
import { freePort, startRegistry } from '../support/registry.js';
import type { RunningRegistry } from '../support/registry.js';
import { pushIndex, pushRandomImage } from '../support/images.js';
import { ociError, ping, startFaultServer } from '../support/fault-server.js';
import type { FaultServer } from '../support/fault-server.js';

const execFileAsync = promisify(execFile);

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

let home: string;

function run(
  args: string[],
  dockerAuths: Record<string, { auth: string }> = {}
): Promise<Run> {
  const dockerDir = mkdtempSync(join(home, 'docker-'));
  writeFileSync(
    join(dockerDir, 'config.json'),
    JSON.stringify({ auths: dockerAuths })
  );
  return runSignet(args, {
    HOME: home,
    DOCKER_CONFIG: dockerDir,
    XDG_CONFIG_HOME: join(home, '.config'),
  }).then((r) => ({ code: r.code, stdout: r.stdoutBytes, stderr: r.stderr }));
}

function basicAuth(user: string, pass: string): { auth: string } {
  return { auth: Buffer.from(`${user}:${pass}`).toString('base64') };
}

async function skopeoDigest(ref: string, creds?: string): Promise<string> {
  const dir = mkdtempSync(join(home, 'skopeo-'));
  const file = join(dir, 'manifest.json');
  const args = ['inspect', '--raw', '--tls-verify=false'];
  if (creds !== undefined) args.push('--creds', creds);
  const { stdout } = await execFileAsync(
    'skopeo',
    [...args, `docker://${ref}`],
    {
      encoding: 'buffer',
      env: { PATH: process.env['PATH'] ?? '', HOME: home },
    }
  );
  writeFileSync(file, stdout);
  const d = await execFileAsync('skopeo', ['manifest-digest', file], {
    encoding: 'utf8',
  });
  return d.stdout.trim();
}

function assertOneLineError(r: Run, code: number): void {
  assert.equal(r.code, code, r.stderr);
  assert.equal(r.stdout.length, 0);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', /^Error: /);
  assert.ok(!r.stderr.includes('    at '), 'no stack trace');
}

before(() => {
  home = mkdtempSync(join(tmpdir(), 'signet-e2e-digest-'));
  mkdirSync(join(home, '.config'));
});
after(() => {
  rmSync(home, { recursive: true, force: true });
});

for (const auth of ['none', 'basic', 'token'] as const) {
  describe(`signet digest / manifest (${auth} registry)`, () => {
    let reg: RunningRegistry;
    let client: RegistryClient;
    const user = 'signet';
    const pass = 'signet-password';
    before(async () => {
      reg = await startRegistry({ auth });
      client = new RegistryClient({
        credentials: staticCredentialProvider({
          [reg.host]: { kind: 'basic', username: user, password: pass },
        }),
      });
    });
    after(async () => {
      await client.close();
      await reg.stop();
    });
    const auths = () =>
      auth === 'none' ? {} : { [reg.host]: basicAuth(user, pass) };
    const creds = () => (auth === 'none' ? undefined : `${user}:${pass}`);

    it('prints the digest skopeo computes for a tag', async () => {
      const repo = { registry: reg.host, repository: 'e2e/app' };
      const img = await pushRandomImage(client, repo, {
        tag: 'v1',
        layers: [100, 200],
      });
      const r = await run(['digest', `${reg.host}/e2e/app:v1`], auths());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), `${img.digest}\n`);
      assert.equal(
        await skopeoDigest(`${reg.host}/e2e/app:v1`, creds()),
        img.digest
      );
    });

    it('prints the raw manifest bytes', async () => {
      const repo = { registry: reg.host, repository: 'e2e/app' };
      const img = await pushRandomImage(client, repo, {
        tag: 'raw',
        docker: true,
      });
      const r = await run(['manifest', `${reg.host}/e2e/app:raw`], auths());
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.equals(img.bytes));
    });

    it('resolves indexes and by-digest references', async () => {
      const repo = { registry: reg.host, repository: 'e2e/multi' };
      const idx = await pushIndex(client, repo, { tag: 'multi', platforms: 2 });
      const r = await run(['digest', `${reg.host}/e2e/multi:multi`], auths());
      assert.equal(r.stdout.toString(), `${idx.digest}\n`);
      const child = idx.children[1] ?? '';
      const byDigest = await run(
        ['manifest', `${reg.host}/e2e/multi@${child}`],
        auths()
      );
      assert.equal(byDigest.code, 0, byDigest.stderr);
      const parsed = JSON.parse(byDigest.stdout.toString()) as {
        mediaType: string;
      };
      assert.equal(parsed.mediaType, MediaType.OciManifest);
      const d = await run(
        ['digest', `${reg.host}/e2e/multi@${child}`],
        auths()
      );
      assert.equal(d.stdout.toString(), `${child}\n`);
    });

    it('exits 42 with one line for a missing tag', async () => {
      const r = await run(['digest', `${reg.host}/e2e/app:missing`], auths());
      assertOneLineError(r, ERROR_EXIT_CODES.REGISTRY_NOT_FOUND);
    });

    if (auth !== 'none') {
      it('exits 40 with one line without credentials, never echoing secrets', async () => {
        const r = await run(['digest', `${reg.host}/e2e/app:v1`]);
        assertOneLineError(r, ERROR_EXIT_CODES.REGISTRY_UNAUTHORIZED);
        const bad = await run(['digest', `${reg.host}/e2e/app:v1`], {
          [reg.host]: basicAuth(user, 'wrong-pass-xyz'),
        });
        assertOneLineError(bad, ERROR_EXIT_CODES.REGISTRY_UNAUTHORIZED);
        assert.ok(!bad.stderr.includes('wrong-pass-xyz'));
      });
    }
  });
}

describe('signet digest against a TLS registry', () => {
  let reg: RunningRegistry;
  let client: RegistryClient;
  before(async () => {
    reg = await startRegistry({ tls: true });
    client = new RegistryClient({
      credentials: staticCredentialProvider({}),
      insecureSkipTlsVerify: true,
    });
  });
  after(async () => {
    await client.close();
    await reg.stop();
  });

  it('exits 48 on an untrusted certificate and succeeds with --allow-insecure-registry', async () => {
    const img = await pushRandomImage(
      client,
      { registry: reg.host, repository: 'tls/app' },
      { tag: 'v1' }
    );
    const refused = await run(['digest', `${reg.host}/tls/app:v1`]);
    assertOneLineError(refused, ERROR_EXIT_CODES.REGISTRY_INSECURE_REFUSED);
    const ok = await run([
      'digest',
      '--allow-insecure-registry',
      `${reg.host}/tls/app:v1`,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.toString(), `${img.digest}\n`);
  });
});

describe('signet digest errors', () => {
  const servers: FaultServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  it('exits 20 with one line for a bad reference', async () => {
    const r = await run(['digest', 'Not/A/Valid:::ref']);
    assertOneLineError(r, ERROR_EXIT_CODES.INVALID_REFERENCE);
  });

  it('exits 47 with one line for an unreachable registry', async () => {
    const port = await freePort();
    const r = await run(['digest', `127.0.0.1:${port}/x/y:latest`]);
    assertOneLineError(r, ERROR_EXIT_CODES.REGISTRY_UNAVAILABLE);
  });

  it('exits 41 with one line when the registry answers 403', async () => {
    const s = await startFaultServer(
      (req) =>
        ping(req) ??
        ociError(403, 'DENIED', 'requested access to the resource is denied')
    );
    servers.push(s);
    const r = await run(['digest', `${s.host}/x/y:latest`]);
    assertOneLineError(r, ERROR_EXIT_CODES.REGISTRY_DENIED);
  });

  it('exits 44 with one line when the registry answers garbage', async () => {
    const s = await startFaultServer(
      (req) =>
        ping(req) ?? {
          status: 200,
          headers: { 'content-type': 'text/html' },
          body: '<html>',
        }
    );
    servers.push(s);
    const r = await run(['manifest', `${s.host}/x/y:latest`]);
    assertOneLineError(r, ERROR_EXIT_CODES.REGISTRY_PROTOCOL);
  });

  it('documents the registry flags in --help', async () => {
    const r = await run(['digest', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout.toString(), /--allow-http-registry/);
    assert.match(r.stdout.toString(), /--allow-insecure-registry/);
  });
});
