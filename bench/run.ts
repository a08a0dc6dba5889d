/**
 * `npm run bench`: every benchmark in sequence (each also runs alone as
 * `node dist/bench/<name>.js`). Add yours with one line.
 */
import { runSignStress } from './sign-stress.js';
import { runSignBench } from './sign.js';
import { runTlogBench } from './tlog.js';
import { runTlogSignVerifyBench } from './tlog-sign-verify.js';
import { runVerifyBench } from './verify.js';

const benches: [string, () => Promise<unknown>][] = [
  ['keys', () => import('./keys.js')],
  ['sign', () => runSignBench()],
  ['sign-stress', () => runSignStress()],
  ['verify', () => runVerifyBench()],
  ['tlog', () => runTlogBench()],
  ['tlog-sign-verify', () => runTlogSignVerifyBench()],
];

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const [name, run] of benches) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n== ${name}`);
  await run();
}
