/** Small helpers shared by the benchmarks. */
import { spawn } from 'node:child_process';
import { cliPath } from '../tests/support/paths.js';

/** A positive number given as `--name N` on the command line, else `dflt`. */
export function numberArg(name: string, dflt: number): number {
  const flag = name.startsWith('--') ? name : `--${name}`;
  const i = process.argv.indexOf(flag);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Runs the compiled CLI with only PATH and `env`; rejects unless it exits 0. */
export function runCli(
  args: string[],
  env: Record<string, string>
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(`signet ${args[0]} exit ${code}: ${err.slice(0, 500)}`)
          )
    );
  });
}
