import type { Command, Option } from 'commander';
import { UsageError } from '../errors.js';

/**
 * cosign's boolean flags follow Go's pflag: `--flag` alone means true, a
 * value is given only with `=` (`--upload=false`), and a bare `--flag`
 * never swallows the next argument (`--offline IMAGE` is offline + IMAGE).
 * Commander's optional values would take IMAGE as the value, so argv is
 * normalised before parsing: options declared `--name [bool]` get `=true`
 * when bare, and plain boolean options accept `--name=true|false`.
 */

/** Go strconv.ParseBool; undefined when `s` is not a boolean. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

/** Commander parser for cosign-style booleans declared `--name [bool]`. */
export function boolFlag(name: string): (value: string) => boolean {
  return (value: string) => {
    const b = parseGoBool(value);
    if (b === undefined) {
      throw new UsageError(
        `invalid argument ${JSON.stringify(value)} for "--${name}" flag: expected true or false (write --${name}=false)`
      );
    }
    return b;
  };
}

/** The subcommand argv selects (following nested groups such as `tlog upload`). */
function selectedCommand(program: Command, argv: readonly string[]): Command[] {
  const chain: Command[] = [program];
  let current = program;
  for (const arg of argv) {
    if (arg === '--') break;
    if (arg.startsWith('-')) continue;
    const sub = current.commands.find(
      (c) => c.name() === arg || c.aliases().includes(arg)
    );
    if (sub === undefined) break;
    chain.push(sub);
    current = sub;
  }
  return chain;
}

/** Rewrites argv so that commander parses cosign's boolean flag forms. */
export function normalizeBoolFlags(
  program: Command,
  argv: readonly string[]
): string[] {
  const options: Option[] = selectedCommand(program, argv).flatMap(
    (c) => c.options as Option[]
  );
  const optionalBool = new Set<string>();
  const plainBool = new Map<string, Option>();
  for (const o of options) {
    if (o.long === undefined) continue;
    if (o.flags.includes('[bool]')) optionalBool.add(o.long);
    else if (o.isBoolean() && !o.negate) plainBool.set(o.long, o);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (optionalBool.has(arg)) {
      out.push(`${arg}=true`);
      continue;
    }
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0 && plainBool.has(arg.slice(0, eq))) {
      const name = arg.slice(0, eq);
      const value = parseGoBool(arg.slice(eq + 1));
      if (value === undefined) {
        boolFlag(name.slice(2))(arg.slice(eq + 1));
      }
      if (value === true) out.push(name);
      continue;
    }
    out.push(arg);
  }
  return out;
}
