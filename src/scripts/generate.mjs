// `prisma generate` (run by npm install): the Prisma client and the Pothos types, from
// prisma/schema.prisma into src/generated/. Generation never runs the native schema engine, but
// the CLI downloads it unless PRISMA_SCHEMA_ENGINE_BINARY names a file, and these machines
// cannot download it; any existing file satisfies the check. Plain JS (it runs before the
// install's types exist), so its --help is inline rather than src/scripts/cli.ts.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run generate

Generates the Prisma client and the Pothos types from prisma/schema.prisma into src/generated/
(npm install runs it too).

options:
  -h, --help  print this help and exit
`;
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
try {
  parseArgs({ args, strict: true });
} catch (err) {
  if (!err.code?.startsWith('ERR_PARSE_ARGS_')) throw err;
  const message = err.message.split('. ')[0];
  process.stderr.write(`${message.charAt(0).toLowerCase()}${message.slice(1)}\n\n${USAGE}`);
  process.exit(2);
}

const root = fileURLToPath(new URL('../..', import.meta.url));
execFileSync('npx', ['prisma', 'generate'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url) },
});
