import { spawn } from 'node:child_process';
import { cliPath } from './paths.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  /** stdout as bytes, for output that must be compared exactly. */
  stdoutBytes: Buffer;
  stderr: string;
}

/**
 * Runs the compiled `signet` CLI as a child process with PATH and exactly
 * the given environment (nothing else of the test's), stdin closed.
 */
export function runSignet(
  args: readonly string[],
  env: Record<string, string>
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString(), stdoutBytes, stderr });
    });
  });
}
