// `prisma generate` (run by npm install): the Prisma client and the Pothos types, from
// prisma/schema.prisma into src/generated/. Generation never runs the native schema engine, but
// the CLI downloads it unless PRISMA_SCHEMA_ENGINE_BINARY names a file, and these machines
// cannot download it; any existing file satisfies the check.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
execFileSync('npx', ['prisma', 'generate'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? fileURLToPath(import.meta.url) },
});
