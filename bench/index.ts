/**
 * `npm run bench [-- --only requests|deliveries|operations|soak|convert] [-- --postgres]`: the GraphQL
 * request bench (`requests.ts`), the webhook delivery bench (`deliveries.ts`), then the operations
 * bench (`operations.ts`), each in its own process; the soak (`soak.ts`) and the conversion (`convert.ts`) only when named.
 * Embedded PGlite by default; DATABASE_URL names a PostgreSQL server, and `--postgres` starts a
 * throwaway cluster on 127.0.0.1 for the run (as `npm run test:postgres` does) and removes it after.
 * Each bench's own settings are environment variables documented at the top of its file. `--help`: its usage.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { type Command, parseCommandLine, usageError } from '../src/scripts/cli.ts';
import { type Cluster, postgresBinDir, startCluster } from '../test/helpers/pg-cluster.ts';

const BENCHES = ['requests', 'deliveries', 'operations'] as const;
/** Run only when named: they insert a large history (bench/soak.ts, bench/convert.ts). */
const ON_REQUEST = ['soak', 'convert'] as const;
const NAMED = [...BENCHES, ...ON_REQUEST] as const;

const COMMAND = {
  usage: `npm run bench [-- --only ${NAMED.join('|')}] [-- --postgres]`,
  summary:
    'Runs the GraphQL request, webhook delivery and operations benches, each in its own process, against ceilings measured in the same run (docs/performance.md).',
  options: {
    only: { type: 'string', value: `<${NAMED.join('|')}>`, description: 'run this bench only (soak and convert run only when named)' },
    postgres: { type: 'boolean', default: false, description: 'start a throwaway PostgreSQL cluster on 127.0.0.1 for the run' },
  },
  env: { DATABASE_URL: 'a PostgreSQL server to bench on (default: embedded PGlite)' },
  notes: ["Each bench's own settings are environment variables documented at the top of bench/<name>.ts."],
} as const satisfies Command;

const { values } = parseCommandLine(COMMAND);
const only = values.only;
if (only !== undefined && !(NAMED as readonly string[]).includes(only)) {
  usageError(COMMAND, `--only: one of ${NAMED.join(', ')}, got "${only}"`);
}

let cluster: Cluster | undefined;
const env = { ...process.env };
// The service is measured as it is deployed (docs/deployment.md: NODE_ENV=production), where
// libraries take their production paths: graphql-js's instanceOf skips its cross-realm checks.
env.NODE_ENV ??= 'production';
if (values.postgres) {
  const bin = postgresBinDir();
  if (!bin) {
    console.error('PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install -y postgresql');
    process.exit(2);
  }
  cluster = await startCluster(bin, { prefix: 'icp-bench-pg-' });
  env.DATABASE_URL = cluster.adminUrl;
  console.log(`throwaway PostgreSQL ${cluster.version} cluster on 127.0.0.1 (fsync off)`);
}
let status = 0;
const stop = () => {
  cluster?.destroy();
  cluster = undefined;
};
process.on('SIGINT', () => {
  stop();
  process.exit(130);
});
try {
  for (const bench of only ? [only] : BENCHES) {
    console.log(`\n=== ${bench} ===`);
    const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, `${bench}.ts`)], {
      stdio: 'inherit',
      env,
    });
    if (result.status !== 0) status = result.status ?? 1;
  }
} finally {
  stop();
}
process.exit(status);
