/**
 * `npm run schema:print` writes schema.graphql from the code; `--check` fails when the
 * committed file differs and prints the command that fixes it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../schema/index.ts';
import { parseCommandLine } from './cli.ts';

export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../../schema.graphql');

export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  const { values } = parseCommandLine({
    usage: ['npm run schema:print [-- --check]', 'npm run schema:check   (the same as schema:print -- --check)'],
    summary: 'Writes schema.graphql from the schema the code builds (sorted); --check only compares and fails on a difference.',
    options: { check: { type: 'boolean', description: 'write nothing; exit 1 when the committed schema.graphql differs' } },
  });
  const printed = printedSchema();
  if (values.check) {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (committed !== printed) {
      console.error('schema.graphql differs from the schema the code builds. Fix: npm run schema:print');
      process.exit(1);
    }
    console.log('schema.graphql is up to date');
  } else {
    await writeFile(SCHEMA_FILE, printed);
    console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
  }
}
