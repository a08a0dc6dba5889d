import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src'))) {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
}

/** The repository root (where package.json is), wherever tests were compiled to. */
export const repoRoot = findRepoRoot();

/** ../shared/fixtures beside the clone: upstream data, read in place. */
export const sharedFixtures = resolve(repoRoot, '..', 'shared', 'fixtures');

/** Project-generated fixtures (tests/fixtures/, see its README). */
export const ownFixtures = join(repoRoot, 'tests', 'fixtures');

/** The compiled CLI entry point, next to this file's build output. */
export const cliPath = fileURLToPath(
  new URL('../../src/cli/main.js', import.meta.url)
);
