import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chainCredentialProviders,
  dockerCredentialProvider,
  staticCredentialProvider,
  type Credential,
} from '../../src/oci/credentials.js';

const CRED_ERROR = { name: 'SignetError', code: 'CREDENTIALS_ERROR' };

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/**
 * A real credential program speaking the docker-credential-helpers protocol.
 * It logs each server string it is asked about and behaves per HELPER_MODE.
 */
const HELPER_SCRIPT = `#!/bin/bash
set -u
if [ "\${1:-}" != "get" ]; then echo "unsupported action" >&2; exit 1; fi
server=""
IFS= read -r server || true
printf '%s\\n' "$server" >> "$HELPER_LOG"
case "\${HELPER_MODE:-ok}" in
  ok)
    case "$server" in
      ghcr.io) printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret-ghcr"}' "$server" ;;
      https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"hubuser","Secret":"hub-pass"}' "$server" ;;
      https://url-only.example) printf '{"ServerURL":"%s","Username":"u","Secret":"url-form"}' "$server" ;;
      token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-123"}' "$server" ;;
      *) echo "credentials not found in native keychain"; exit 1 ;;
    esac ;;
  crash) printf '{"Username":"x","Secret":"leaked-secret"}'; echo "panic: boom" >&2; exit 2 ;;
  crash-text) echo "error talking to keychain: locked"; exit 3 ;;
  garbage) echo "this is not json leaked-secret" ;;
  hang) exec sleep 30 ;;
esac
`;

let root: string;
let binDir: string;
let seq = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'signet-creds-'));
  binDir = join(root, 'bin');
  await mkdir(binDir);
  await writeFile(join(binDir, 'docker-credential-test'), HELPER_SCRIPT);
  await chmod(join(binDir, 'docker-credential-test'), 0o755);
  // A helper that exists but cannot be executed.
  await writeFile(join(binDir, 'docker-credential-noexec'), HELPER_SCRIPT);
  await chmod(join(binDir, 'docker-credential-noexec'), 0o644);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Sandbox {
  home: string;
  log: string;
  env: Record<string, string | undefined>;
  writeDocker(config: unknown): Promise<void>;
  calls(): Promise<string[]>;
}

/** A fresh home directory and an environment that points only inside it. */
async function sandbox(
  extraEnv: Record<string, string | undefined> = {}
): Promise<Sandbox> {
  const home = join(root, `home-${seq++}`);
  await mkdir(join(home, '.docker'), { recursive: true });
  const log = join(home, 'helper.log');
  await writeFile(log, '');
  const env: Record<string, string | undefined> = {
    PATH: `${binDir}:/usr/bin:/bin`,
    HELPER_LOG: log,
    ...extraEnv,
  };
  return {
    home,
    log,
    env,
    async writeDocker(config) {
      await writeFile(
        join(home, '.docker', 'config.json'),
        JSON.stringify(config)
      );
    },
    async calls() {
      return (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
    },
  };
}

describe('dockerCredentialProvider: config.json auths', () => {
  it('decodes auth for an exact host, in plain and URL key forms', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      auths: {
        'ghcr.io': { auth: b64('alice:pw:with:colons') },
        'https://quay.io/v2/': { auth: b64('bob:qpw') },
        'http://127.0.0.1:5000': { auth: b64('carol:lpw') },
      },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('ghcr.io'), {
      kind: 'basic',
      username: 'alice',
      password: 'pw:with:colons',
    });
    assert.deepEqual(await p.get('quay.io'), {
      kind: 'basic',
      username: 'bob',
      password: 'qpw',
    });
    assert.deepEqual(await p.get('127.0.0.1:5000'), {
      kind: 'basic',
      username: 'carol',
      password: 'lpw',
    });
    assert.deepEqual(await p.get('GHCR.IO'), await p.get('ghcr.io'));
  });

  it('never matches a host by substring or without its port', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      auths: {
        'ghcr.io': { auth: b64('alice:pw') },
        '127.0.0.1:5000': { auth: b64('u:p') },
      },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.equal(await p.get('ghcr.io.evil.example'), undefined);
    assert.equal(await p.get('evilghcr.io'), undefined);
    assert.equal(await p.get('127.0.0.1'), undefined);
    assert.equal(await p.get('127.0.0.1:5001'), undefined);
  });

  it('uses the https://index.docker.io/v1/ key for every Docker Hub alias', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      auths: {
        'docker.io': { auth: b64('other:wrong') },
        'https://index.docker.io/v1/': { auth: b64('hub:right') },
      },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    const want: Credential = {
      kind: 'basic',
      username: 'hub',
      password: 'right',
    };
    assert.deepEqual(await p.get('index.docker.io'), want);
    assert.deepEqual(await p.get('docker.io'), want);
    assert.deepEqual(await p.get('registry-1.docker.io'), want);
    assert.equal(await p.get('notdocker.io'), undefined);
  });

  it('maps identitytoken and registrytoken', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      auths: {
        'acr.example.io': {
          auth: b64('00000000-0000-0000-0000-000000000000:'),
          identitytoken: 'refresh-abc',
        },
        'idonly.example': { identitytoken: 'refresh-xyz' },
        'reg.example': { registrytoken: 'bearer-123' },
      },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('acr.example.io'), {
      kind: 'identityToken',
      username: '00000000-0000-0000-0000-000000000000',
      token: 'refresh-abc',
    });
    assert.deepEqual(await p.get('idonly.example'), {
      kind: 'identityToken',
      token: 'refresh-xyz',
    });
    assert.deepEqual(await p.get('reg.example'), {
      kind: 'registryToken',
      token: 'bearer-123',
    });
  });

  it('strips trailing NULs, accepts username/password fields and unpadded base64', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      auths: {
        'nul.example': { auth: b64('u:p\0\0') },
        'fields.example': { username: 'fu', password: 'fp' },
        'nopad.example': { auth: b64('ab:c').replace(/=+$/, '') },
        'empty.example': {},
      },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('nul.example'), {
      kind: 'basic',
      username: 'u',
      password: 'p',
    });
    assert.deepEqual(await p.get('fields.example'), {
      kind: 'basic',
      username: 'fu',
      password: 'fp',
    });
    assert.deepEqual(await p.get('nopad.example'), {
      kind: 'basic',
      username: 'ab',
      password: 'c',
    });
    assert.equal(await p.get('empty.example'), undefined);
  });

  it('prefers $DOCKER_CONFIG over ~/.docker', async () => {
    const sb = await sandbox();
    await sb.writeDocker({ auths: { 'ghcr.io': { auth: b64('home:pw') } } });
    const dir = join(sb.home, 'elsewhere');
    await mkdir(dir);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { 'ghcr.io': { auth: b64('custom:pw') } } })
    );
    const p = dockerCredentialProvider({
      env: { ...sb.env, DOCKER_CONFIG: dir },
      homeDir: sb.home,
    });
    assert.deepEqual(await p.get('ghcr.io'), {
      kind: 'basic',
      username: 'custom',
      password: 'pw',
    });
  });

  it('returns undefined when there are no files at all', async () => {
    const sb = await sandbox();
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.equal(await p.get('ghcr.io'), undefined);
  });

  it('reads DOCKER_AUTH_CONFIG before any file', async () => {
    const sb = await sandbox();
    await sb.writeDocker({ auths: { 'ghcr.io': { auth: b64('file:pw') } } });
    const env = {
      ...sb.env,
      DOCKER_AUTH_CONFIG: JSON.stringify({
        auths: { 'ghcr.io': { auth: b64('envuser:envpw') } },
      }),
    };
    const p = dockerCredentialProvider({ env, homeDir: sb.home });
    assert.deepEqual(await p.get('ghcr.io'), {
      kind: 'basic',
      username: 'envuser',
      password: 'envpw',
    });
  });

  it('reads the legacy ~/.dockercfg only when config.json is absent', async () => {
    const sb = await sandbox();
    await writeFile(
      join(sb.home, '.dockercfg'),
      JSON.stringify({ 'https://legacy.example': { auth: b64('old:pw') } })
    );
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('legacy.example'), {
      kind: 'basic',
      username: 'old',
      password: 'pw',
    });
    await sb.writeDocker({ auths: {} });
    assert.equal(await p.get('legacy.example'), undefined);
  });

  it('tries the full repository key before the host (ggcr)', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      auths: {
        'ghcr.io': { auth: b64('host:pw') },
        'ghcr.io/team/app': { auth: b64('repo:pw') },
      },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('ghcr.io', 'team/app'), {
      kind: 'basic',
      username: 'repo',
      password: 'pw',
    });
    assert.deepEqual(await p.get('ghcr.io', 'team/other'), {
      kind: 'basic',
      username: 'host',
      password: 'pw',
    });
  });

  it('rejects malformed JSON without quoting the file', async () => {
    const sb = await sandbox();
    await writeFile(
      join(sb.home, '.docker', 'config.json'),
      '{"auths": {"ghcr.io": {"auth": "c2VjcmV0LXZhbHVl"}'
    );
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('ghcr.io'), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal(e.name, 'SignetError');
      assert.equal((e as { code?: string }).code, 'CREDENTIALS_ERROR');
      assert.ok(e.message.includes('config.json'));
      assert.equal(e.message.includes('c2VjcmV0LXZhbHVl'), false);
      return true;
    });
  });

  it('rejects an auth value that is not base64 user:pass, without echoing it', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      auths: { 'ghcr.io': { auth: b64('no-colon-secret') } },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('ghcr.io'), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal((e as { code?: string }).code, 'CREDENTIALS_ERROR');
      assert.equal(e.message.includes('no-colon-secret'), false);
      assert.equal(e.message.includes(b64('no-colon-secret')), false);
      return true;
    });
  });

  it('rejects structurally wrong files', async () => {
    for (const bad of [
      [],
      { auths: [] },
      { auths: { x: 'str' } },
      { credHelpers: { x: 1 } },
      { credsStore: 5 },
    ]) {
      const sb = await sandbox();
      await sb.writeDocker(bad);
      const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
      await assert.rejects(p.get('x'), CRED_ERROR);
    }
  });
});

describe('dockerCredentialProvider: credential programs', () => {
  it('runs credHelpers[host] with the host on stdin', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      credHelpers: { 'ghcr.io': 'test' },
      auths: { 'ghcr.io': { auth: b64('file:ignored') } },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('ghcr.io'), {
      kind: 'basic',
      username: 'alice',
      password: 's3cret-ghcr',
    });
    assert.deepEqual(await sb.calls(), ['ghcr.io']);
  });

  it('sends https://index.docker.io/v1/ for Docker Hub via credsStore', async () => {
    const sb = await sandbox();
    await sb.writeDocker({ credsStore: 'test' });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('docker.io'), {
      kind: 'basic',
      username: 'hubuser',
      password: 'hub-pass',
    });
    assert.deepEqual(await sb.calls(), ['https://index.docker.io/v1/']);
  });

  it('maps Username <token> to an identity token', async () => {
    const sb = await sandbox();
    await sb.writeDocker({ credsStore: 'test' });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('token.example'), {
      kind: 'identityToken',
      token: 'refresh-123',
    });
  });

  it('treats "credentials not found" as a miss, retries the https:// form, then falls back to auths', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      credsStore: 'test',
      auths: { 'fallback.example': { auth: b64('fb:pw') } },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('url-only.example'), {
      kind: 'basic',
      username: 'u',
      password: 'url-form',
    });
    assert.deepEqual(await p.get('fallback.example'), {
      kind: 'basic',
      username: 'fb',
      password: 'pw',
    });
    assert.equal(await p.get('nowhere.example'), undefined);
    assert.deepEqual(await sb.calls(), [
      'url-only.example',
      'https://url-only.example',
      'fallback.example',
      'https://fallback.example',
      'nowhere.example',
      'https://nowhere.example',
    ]);
  });

  it('caches answers per provider', async () => {
    const sb = await sandbox();
    await sb.writeDocker({ credsStore: 'test' });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await p.get('ghcr.io');
    await p.get('ghcr.io');
    await Promise.all([p.get('token.example'), p.get('token.example')]);
    assert.deepEqual(await sb.calls(), ['ghcr.io', 'token.example']);
    const fresh = dockerCredentialProvider({
      env: sb.env,
      homeDir: sb.home,
      helperCacheMs: 0,
    });
    await fresh.get('ghcr.io');
    await fresh.get('ghcr.io');
    assert.equal((await sb.calls()).length, 4);
  });

  it('reports a crashing helper without echoing its output secret', async () => {
    const sb = await sandbox({ HELPER_MODE: 'crash' });
    await sb.writeDocker({ credHelpers: { 'ghcr.io': 'test' } });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('ghcr.io'), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal((e as { code?: string }).code, 'CREDENTIALS_ERROR');
      assert.ok(e.message.includes('docker-credential-test'));
      assert.ok(e.message.includes('ghcr.io'));
      assert.equal(e.message.includes('leaked-secret'), false);
      return true;
    });
  });

  it('includes a helper error text that is not JSON', async () => {
    const sb = await sandbox({ HELPER_MODE: 'crash-text' });
    await sb.writeDocker({ credHelpers: { 'ghcr.io': 'test' } });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('ghcr.io'), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal((e as { code?: string }).code, 'CREDENTIALS_ERROR');
      assert.ok(e.message.includes('keychain: locked'));
      return true;
    });
  });

  it('rejects output that is not JSON without quoting it', async () => {
    const sb = await sandbox({ HELPER_MODE: 'garbage' });
    await sb.writeDocker({ credHelpers: { 'ghcr.io': 'test' } });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('ghcr.io'), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal((e as { code?: string }).code, 'CREDENTIALS_ERROR');
      assert.equal(e.message.includes('leaked-secret'), false);
      return true;
    });
  });

  it('does not cache failures', async () => {
    const sb = await sandbox({ HELPER_MODE: 'crash' });
    await sb.writeDocker({ credHelpers: { 'ghcr.io': 'test' } });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('ghcr.io'), CRED_ERROR);
    await assert.rejects(p.get('ghcr.io'), CRED_ERROR);
    assert.equal((await sb.calls()).length, 2);
  });

  it('kills a helper that does not answer in time', async () => {
    const sb = await sandbox({ HELPER_MODE: 'hang' });
    await sb.writeDocker({ credHelpers: { 'ghcr.io': 'test' } });
    const p = dockerCredentialProvider({
      env: sb.env,
      homeDir: sb.home,
      helperTimeoutMs: 200,
    });
    await assert.rejects(p.get('ghcr.io'), CRED_ERROR);
  });

  it('reports a helper missing from PATH or not executable', async () => {
    const sb = await sandbox();
    await sb.writeDocker({
      credHelpers: { 'a.example': 'missing', 'b.example': 'noexec' },
    });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('a.example'), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.equal((e as { code?: string }).code, 'CREDENTIALS_ERROR');
      assert.ok(e.message.includes('docker-credential-missing'));
      return true;
    });
    await assert.rejects(p.get('b.example'), CRED_ERROR);
  });

  it('refuses helper names that could escape PATH lookup', async () => {
    const sb = await sandbox();
    await sb.writeDocker({ credsStore: '../../bin/test' });
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    await assert.rejects(p.get('ghcr.io'), CRED_ERROR);
    assert.deepEqual(await sb.calls(), []);
  });
});

describe('dockerCredentialProvider: Podman auth.json', () => {
  it('reads REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR and XDG_CONFIG_HOME in order, after Docker', async () => {
    const sb = await sandbox();
    const explicit = join(sb.home, 'explicit.json');
    const runtime = join(sb.home, 'run');
    const xdg = join(sb.home, 'xdg');
    await mkdir(join(runtime, 'containers'), { recursive: true });
    await mkdir(join(xdg, 'containers'), { recursive: true });
    await sb.writeDocker({
      auths: { 'docker.example': { auth: b64('docker:pw') } },
    });
    await writeFile(
      explicit,
      JSON.stringify({
        auths: {
          'docker.example': { auth: b64('podman:pw') },
          'a.example': { auth: b64('explicit:pw') },
        },
      })
    );
    await writeFile(
      join(runtime, 'containers', 'auth.json'),
      JSON.stringify({
        auths: {
          'a.example': { auth: b64('runtime:pw') },
          'b.example': { auth: b64('runtime:pw') },
        },
      })
    );
    await writeFile(
      join(xdg, 'containers', 'auth.json'),
      JSON.stringify({
        auths: {
          'b.example': { auth: b64('xdg:pw') },
          'c.example': { auth: b64('xdg:pw') },
        },
      })
    );
    const p = dockerCredentialProvider({
      env: {
        ...sb.env,
        REGISTRY_AUTH_FILE: explicit,
        XDG_RUNTIME_DIR: runtime,
        XDG_CONFIG_HOME: xdg,
      },
      homeDir: sb.home,
    });
    const user = async (r: string): Promise<string | undefined> => {
      const c = await p.get(r);
      return c?.kind === 'basic' ? c.username : undefined;
    };
    assert.equal(await user('docker.example'), 'docker');
    assert.equal(await user('a.example'), 'explicit');
    assert.equal(await user('b.example'), 'runtime');
    assert.equal(await user('c.example'), 'xdg');
  });

  it('defaults XDG_CONFIG_HOME to ~/.config', async () => {
    const sb = await sandbox();
    await mkdir(join(sb.home, '.config', 'containers'), { recursive: true });
    await writeFile(
      join(sb.home, '.config', 'containers', 'auth.json'),
      JSON.stringify({ auths: { 'docker.io': { auth: b64('podhub:pw') } } })
    );
    const p = dockerCredentialProvider({ env: sb.env, homeDir: sb.home });
    assert.deepEqual(await p.get('index.docker.io'), {
      kind: 'basic',
      username: 'podhub',
      password: 'pw',
    });
  });

  it('matches namespace keys most-specific first', async () => {
    const sb = await sandbox();
    const file = join(sb.home, 'auth.json');
    await writeFile(
      file,
      JSON.stringify({
        auths: {
          'quay.io': { auth: b64('any:pw') },
          'quay.io/org': { auth: b64('org:pw') },
          'quay.io/org/team/app': { auth: b64('app:pw') },
          'docker.io/library': { auth: b64('lib:pw') },
        },
      })
    );
    const p = dockerCredentialProvider({
      env: { ...sb.env, REGISTRY_AUTH_FILE: file },
      homeDir: sb.home,
    });
    const user = async (
      r: string,
      repo?: string
    ): Promise<string | undefined> => {
      const c = await p.get(r, repo);
      return c?.kind === 'basic' ? c.username : undefined;
    };
    assert.equal(await user('quay.io', 'org/team/app'), 'app');
    assert.equal(await user('quay.io', 'org/team/other'), 'org');
    assert.equal(await user('quay.io', 'orgx/app'), 'any');
    assert.equal(await user('quay.io'), 'any');
    assert.equal(await user('index.docker.io', 'library/alpine'), 'lib');
    assert.equal(await user('index.docker.io', 'someone/app'), undefined);
  });
});

describe('staticCredentialProvider and chainCredentialProviders', () => {
  it('looks up by host with Docker Hub aliases folded', async () => {
    const cred: Credential = { kind: 'basic', username: 'u', password: 'p' };
    const p = staticCredentialProvider({
      'docker.io': cred,
      '127.0.0.1:5000': { kind: 'registryToken', token: 't' },
    });
    assert.deepEqual(await p.get('index.docker.io'), cred);
    assert.deepEqual(await p.get('127.0.0.1:5000'), {
      kind: 'registryToken',
      token: 't',
    });
    assert.equal(await p.get('127.0.0.1'), undefined);
  });

  it('returns the first provider that has credentials', async () => {
    const a = staticCredentialProvider({
      'a.example': { kind: 'registryToken', token: 'a' },
    });
    const b = staticCredentialProvider({
      'a.example': { kind: 'registryToken', token: 'b-shadowed' },
      'b.example': { kind: 'registryToken', token: 'b' },
    });
    const chain = chainCredentialProviders(a, b);
    assert.deepEqual(await chain.get('a.example'), {
      kind: 'registryToken',
      token: 'a',
    });
    assert.deepEqual(await chain.get('b.example'), {
      kind: 'registryToken',
      token: 'b',
    });
    assert.equal(await chain.get('c.example'), undefined);
    assert.equal(await chainCredentialProviders().get('a.example'), undefined);
  });

  it('propagates a provider error', async () => {
    const sb = await sandbox();
    await writeFile(join(sb.home, '.docker', 'config.json'), 'not json');
    const chain = chainCredentialProviders(
      staticCredentialProvider({}),
      dockerCredentialProvider({ env: sb.env, homeDir: sb.home })
    );
    await assert.rejects(chain.get('x.example'), CRED_ERROR);
  });
});
