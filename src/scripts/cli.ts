/**
 * The command line of every script and entry point: node:util parseArgs, strict. `--help`/`-h`
 * prints the command's usage on stdout and exits 0 before the script does anything; an unknown
 * option or a bad value prints one line and the usage on stderr and exits 2, never a stack trace
 * (an ignored or misread flag would let a script act on the wrong thing).
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  default?: string | boolean;
  /** The value's placeholder in the help, e.g. `<seconds>`; string options only. */
  value?: string;
  description: string;
}

export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  /** How it is run, arguments included; later entries are further forms. */
  usage: string | string[];
  /** What it does, in one or two lines. */
  summary: string;
  options?: O;
  /** The positional arguments it takes, each with what it is; none when absent. */
  positionals?: Record<string, string>;
  /** The environment variables it reads, each with what it does. */
  env?: Record<string, string>;
  notes?: string[];
}

type Value<S extends OptionSpec> = S['type'] extends 'boolean' ? boolean : string;
export type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K] extends { default: string | boolean } ? Value<O[K]> : Value<O[K]> | undefined;
};

/** Prose in lines of at most `width` columns, broken between words. */
function wrap(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

export function usageText(command: Command): string {
  const [first, ...more] = typeof command.usage === 'string' ? [command.usage] : command.usage;
  const lines = [`usage: ${first}`, ...more.map((form) => `       ${form}`), '', ...wrap(command.summary)];
  const section = (title: string, rows: [string, string][]) => {
    if (!rows.length) return;
    const width = Math.max(...rows.map(([left]) => left.length));
    lines.push('', `${title}:`, ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`));
  };
  section('arguments', Object.entries(command.positionals ?? {}));
  const options = Object.entries(command.options ?? {}).map(([name, spec]): [string, string] => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? '<value>'}` : ''}`;
    const fallback = spec.type === 'string' && spec.default !== undefined ? ` (default: ${spec.default})` : '';
    return [flag, spec.description + fallback];
  });
  section('options', [...options, ['-h, --help', 'print this help and exit']]);
  section('environment', Object.entries(command.env ?? {}));
  if (command.notes?.length) lines.push('', ...command.notes.flatMap((note) => wrap(note)));
  return `${lines.join('\n')}\n`;
}

/** The arguments before a `--` terminator ask for help. */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Prints the problems, one a line, then the usage, on stderr; exits 2. */
export function usageError(command: Command, ...problems: string[]): never {
  process.stderr.write(`${problems.join('\n')}\n\n${usageText(command)}`);
  process.exit(2);
}

/**
 * The script's options and positional arguments; exits on `--help` (0) and on anything the
 * command does not take (2).
 */
export function parseCommandLine<const O extends Record<string, OptionSpec> = Record<never, OptionSpec>>(
  command: Command<O>,
  args: string[] = process.argv.slice(2),
): { values: Values<O>; positionals: string[] } {
  if (asksForHelp(args)) {
    process.stdout.write(usageText(command));
    process.exit(0);
  }
  const options = Object.fromEntries(
    Object.entries(command.options ?? {}).map(([name, { type, short, default: fallback }]) => [
      name,
      { type, ...(short ? { short } : {}), ...(fallback !== undefined ? { default: fallback } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals: command.positionals !== undefined });
    return { values: values as Values<O>, positionals };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!code?.startsWith('ERR_PARSE_ARGS_')) throw err;
    // node's first sentence names the argument; the rest suggests a `--` the scripts do not need
    const message = (err as Error).message.split('. ')[0]!;
    usageError(command, message.charAt(0).toLowerCase() + message.slice(1));
  }
}

/** The variables that choose the database, for the commands that open it. */
export const DATABASE_ENV: Record<string, string> = {
  DATABASE_URL: 'postgres://… of a PostgreSQL server; unset: the embedded database in DATA_DIR',
  DATABASE_MIGRATION_URL: "the schema owner's role, for migrations and maintenance (with DATABASE_URL)",
  DATA_DIR: 'the embedded database, generated key and JWT secret (default ./data)',
};
