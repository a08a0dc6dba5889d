import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Option } from 'commander';
import { boolFlag, normalizeBoolFlags } from '../../src/cli/bool-flags.js';

interface Parsed {
  images: string[];
  opts: Record<string, unknown>;
}

/** A program shaped like `signet sign`: a [bool] flag and a plain boolean. */
function parse(argv: string[]): Parsed {
  const result: Parsed = { images: [], opts: {} };
  const program = new Command('signet').exitOverride();
  program
    .command('sign')
    .argument('<image...>')
    .addOption(
      new Option('--upload [bool]')
        .argParser(boolFlag('upload'))
        .default(true)
        .preset(true)
    )
    .option('-r, --recursive', 'recursive', false)
    .action((images: string[], opts: Record<string, unknown>) => {
      result.images = images;
      result.opts = opts;
    });
  program.parse(normalizeBoolFlags(program, argv), { from: 'user' });
  return result;
}

describe('normalizeBoolFlags (pflag semantics)', () => {
  it('does not let a bare [bool] flag swallow the next argument', () => {
    const r = parse(['sign', '--upload', 'reg/img:1']);
    assert.equal(r.opts['upload'], true);
    assert.deepEqual(r.images, ['reg/img:1']);
  });

  it('takes a value only with =', () => {
    assert.equal(
      parse(['sign', '--upload=false', 'a'])['opts']['upload'],
      false
    );
    assert.equal(parse(['sign', '--upload=T', 'a'])['opts']['upload'], true);
    // As in cosign, "false" after a bare flag is an argument, not a value.
    const r = parse(['sign', '--upload', 'false', 'a']);
    assert.equal(r.opts['upload'], true);
    assert.deepEqual(r.images, ['false', 'a']);
  });

  it('accepts =true and =false on plain boolean flags', () => {
    assert.equal(
      parse(['sign', '--recursive=true', 'a']).opts['recursive'],
      true
    );
    assert.equal(
      parse(['sign', '--recursive=0', 'a']).opts['recursive'],
      false
    );
    assert.equal(parse(['sign', '-r', 'a']).opts['recursive'], true);
  });

  it('refuses a non-boolean value with a usage error', () => {
    assert.throws(() => parse(['sign', '--recursive=maybe', 'a']), {
      name: 'UsageError',
      code: 'USAGE',
    });
    assert.throws(() => parse(['sign', '--upload=maybe', 'a']), {
      name: 'UsageError',
      code: 'USAGE',
    });
  });

  it('leaves everything after -- alone', () => {
    const r = parse(['sign', '--', '--upload']);
    assert.deepEqual(r.images, ['--upload']);
    assert.equal(r.opts['upload'], true);
  });
});
