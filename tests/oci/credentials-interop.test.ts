/**
 * dockerCredentialProvider reads what `skopeo login` (containers/image)
 * writes. The credentials it picks are checked against the real CNCF
 * distribution registry with htpasswd auth, and compared with the ones skopeo
 * itself picks from the same file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  dockerCredentialProvider,
  type Credential,
} from '../../src/oci/credentials.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { pushRandomImage } from '../support/images.js';

const execFileAsync = promisify(execFile);

/** Status of GET /v2/ on the registry with the given credential. */
function pingStatus(
  reg: RunningRegistry,
  cred: Credential | undefined
): Promise<number> {
  const headers: Record<string, string> = {};
  if (cred?.kind === 'basic') {
    headers.authorization = `Basic ${Buffer.from(
      `${cred.username}:${cred.password}`
    ).toString('base64')}`;
  }
  return new Promise((resolve, reject) => {
    const req = request(`${reg.url}/v2/`, { method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether skopeo, using `authFile`, is let into `repository`. */
async function skopeoAllowed(
  reg: RunningRegistry,
  authFile: string,
  repository: string
): Promise<boolean> {
  try {
    await execFileAsync('skopeo', [
      'list-tags',
      '--authfile',
      authFile,
      '--tls-verify=false',
      `docker://${reg.host}/${repository}`,
    ]);
    return true;
  } catch (e) {
    const raw = (e as { stderr?: unknown }).stderr;
    const stderr =
      typeof raw === 'string'
        ? raw
        : Buffer.isBuffer(raw)
          ? raw.toString()
          : '';
    // The repository does not exist: skopeo got past authentication.
    if (
      /name unknown|NAME_UNKNOWN|repository name not known|404 \(Not Found\)/i.test(
        stderr
      )
    ) {
      return true;
    }
    if (/unauthorized|authentication required/i.test(stderr)) return false;
    throw e;
  }
}

describe('credentials written by skopeo login', () => {
  let reg: RunningRegistry;
  let dir: string;
  const password = 'signet-password';

  before(async () => {
    reg = await startRegistry({ auth: 'basic' });
    dir = await mkdtemp(join(tmpdir(), 'signet-creds-interop-'));
  });
  after(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a host login from REGISTRY_AUTH_FILE and the registry accepts it', async () => {
    const authFile = join(dir, 'host.json');
    await loginWithStdin(authFile, reg.host, password);
    const p = dockerCredentialProvider({
      env: { REGISTRY_AUTH_FILE: authFile, PATH: '/usr/bin:/bin' },
      homeDir: dir,
    });
    const cred = await p.get(reg.host);
    assert.deepEqual(cred, { kind: 'basic', username: 'signet', password });
    assert.equal(await pingStatus(reg, cred), 200);
    assert.equal(await pingStatus(reg, undefined), 401);
  });

  it('picks the same namespace entry as skopeo', async () => {
    const authFile = join(dir, 'ns.json');
    // skopeo login <host>/team writes a namespace key.
    await loginWithStdin(authFile, `${reg.host}/team`, password);
    const written = JSON.parse(await readFile(authFile, 'utf8')) as {
      auths: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(written.auths), [`${reg.host}/team`]);
    // Add a wrong host-wide entry: only team/* gets the right password.
    written.auths[reg.host] = {
      auth: Buffer.from('signet:wrong').toString('base64'),
    };
    await writeFile(authFile, JSON.stringify(written));

    const p = dockerCredentialProvider({
      env: { REGISTRY_AUTH_FILE: authFile, PATH: '/usr/bin:/bin' },
      homeDir: dir,
    });
    for (const repository of ['team/app', 'team/sub/app', 'other/app']) {
      const cred = await p.get(reg.host, repository);
      const ours = (await pingStatus(reg, cred)) === 200;
      const theirs = await skopeoAllowed(reg, authFile, repository);
      assert.equal(
        ours,
        theirs,
        `${repository}: signet ${ours}, skopeo ${theirs}`
      );
      assert.equal(ours, repository.startsWith('team/'));
    }
  });

  it('lets RegistryClient push and pull with a credential helper answer', async () => {
    // A docker-credential-* program that knows this registry only.
    const bin = join(dir, 'bin');
    const cfg = join(dir, 'docker');
    await mkdir(bin, { recursive: true });
    await mkdir(cfg, { recursive: true });
    const helper = join(bin, 'docker-credential-interop');
    await writeFile(
      helper,
      [
        '#!/bin/bash',
        'IFS= read -r server || true',
        `if [ "$server" = "${reg.host}" ]; then`,
        `  printf '{"ServerURL":"%s","Username":"signet","Secret":"${password}"}' "$server"`,
        'else',
        '  echo "credentials not found in native keychain"; exit 1',
        'fi',
        '',
      ].join('\n')
    );
    await chmod(helper, 0o755);
    const env = { DOCKER_CONFIG: cfg, PATH: `${bin}:/usr/bin:/bin` };

    await writeFile(
      join(cfg, 'config.json'),
      JSON.stringify({ credHelpers: { [reg.host]: 'interop' } })
    );
    const client = new RegistryClient({
      credentials: dockerCredentialProvider({ env, homeDir: dir }),
    });
    try {
      const repo = { registry: reg.host, repository: 'creds/app' };
      const img = await pushRandomImage(client, repo, { tag: 'v1' });
      const back = await client.getManifest(repo, 'v1');
      assert.equal(back.digest, img.digest);
    } finally {
      await client.close();
    }

    // The same registry through a helper that has no entry: refused.
    await writeFile(
      join(cfg, 'config.json'),
      JSON.stringify({
        credHelpers: { 'elsewhere.example': 'interop' },
        credsStore: 'interop-none',
      })
    );
    await writeFile(
      join(bin, 'docker-credential-interop-none'),
      '#!/bin/bash\necho "credentials not found in native keychain"; exit 1\n'
    );
    await chmod(join(bin, 'docker-credential-interop-none'), 0o755);
    const anonymous = new RegistryClient({
      credentials: dockerCredentialProvider({ env, homeDir: dir }),
    });
    try {
      await assert.rejects(
        anonymous.getManifest(
          { registry: reg.host, repository: 'creds/app' },
          'v1'
        ),
        { name: 'RegistryError', code: 'REGISTRY_UNAUTHORIZED' }
      );
    } finally {
      await anonymous.close();
    }
  });

  async function loginWithStdin(
    authFile: string,
    target: string,
    pw: string
  ): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        'skopeo',
        [
          'login',
          '--authfile',
          authFile,
          '--tls-verify=false',
          '-u',
          'signet',
          '--password-stdin',
          target,
        ],
        (err) => (err === null ? resolve() : reject(new Error(err.message)))
      );
      child.stdin?.end(pw);
    });
  }
});
