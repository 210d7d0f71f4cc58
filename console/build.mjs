// npm install's step for the web console (postinstall): builds console/ into console/dist/ with
// Vite (the production build, whatever NODE_ENV says; `npm run build:console` runs it too), so
// `npm install && npm start` serves /console. Does nothing without Vite (`npm ci --omit=dev`: that
// image got console/dist from its build stage) or without the console's sources (the Docker build
// stage's first install). Plain JS: it runs before the install's types exist.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = `usage: node console/build.mjs [--quiet]

Builds the web console into console/dist/ (the production build) when Vite is installed
(npm install and npm run build:console run it).

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
// always the production build: Vite takes the bundle's process.env.NODE_ENV (and so React's
// development or production build) from NODE_ENV when the shell sets one, e.g. vitest's 'test'
process.env.NODE_ENV = 'production';
const { build } = await import('vite');
await build({ configFile: `${here}vite.config.ts`, logLevel: values.quiet ? 'warn' : 'info' });
