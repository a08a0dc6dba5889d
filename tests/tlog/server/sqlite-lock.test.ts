import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startLogServer } from '../../support/tlog.js';

describe('tlog serve on SQLite', () => {
  it('refuses to open a database another server is using (no forked tree)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'signet-tlog-lock-'));
    try {
      const first = await startLogServer({ dataDir });
      try {
        await assert.rejects(startLogServer({ dataDir }), /exited with 3/);
        const res = await fetch(`${first.url}/api/v1/log`);
        assert.equal(res.status, 200);
      } finally {
        await first.stop();
      }
      // Once the first one is gone, the database opens again.
      const again = await startLogServer({ dataDir });
      await again.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
