// npm install's step for the web console (postinstall): builds console/ into console/dist/ with
// Vite, as `npm run build:console` does, so `npm install && npm start` serves /console. Does
// nothing without Vite (`npm ci --omit=dev`: that image got console/dist from its build stage) or
// without the console's sources (the Docker build stage's first install). Plain JS: it runs
// before the install's types exist.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `usage: node console/build.mjs [--quiet]

Builds the web console into console/dist/ when Vite is installed (npm install runs it;
npm run build:console always builds).

options:
  --quiet     print warnings only
  -h, --help  print this help and exit
`;
let values;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: { quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (err) {
  if (!err.code?.startsWith('ERR_PARSE_ARGS_')) throw err;
  const message = err.message.split('. ')[0];
  process.stderr.write(`${message.charAt(0).toLowerCase()}${message.slice(1)}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);
function viteInstalled() {
  try {
    require.resolve('vite');
    return true;
  } catch {
    return false;
  }
}

if (!existsSync(`${here}index.html`) || !viteInstalled()) process.exit(0);
const { build } = await import('vite');
await build({ configFile: `${here}vite.config.ts`, logLevel: values.quiet ? 'warn' : 'info' });
