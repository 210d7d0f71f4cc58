// `node --import ./src/scripts/with-tsx.mjs <file>.ts` (npm start, worker, db:migrate, keys:rotate,
// token): `--import tsx`, but where `npm ci --omit=dev` left tsx out (a development dependency)
// one line says what to run instead of a module-not-found stack. Plain JS: nothing compiles it.
import path from 'node:path';

try {
  await import('tsx'); // the package's "." export is its loader, the module `--import tsx` loads
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !/Cannot find package 'tsx'/.test(err.message)) throw err;
  // src/server.ts runs as dist/server.js once built, src/scripts/migrate.ts as dist/scripts/migrate.js
  const source = path.relative(process.cwd(), process.argv[1] ?? '').replaceAll(path.sep, '/');
  const built = /^src\/.+\.ts$/.test(source) ? `dist/${source.slice(4, -3)}.js` : 'dist/server.js';
  process.stderr.write(
    `tsx is not installed: it is a development tool that runs the TypeScript sources; for development run \`npm install\`, in production run \`node ${built}\` from a build (\`npm run build\` on a full install, or the Docker image)\n`,
  );
  process.exit(2);
}
