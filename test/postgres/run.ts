/**
 * `npm run test:postgres [-- vitest args]`: runs the test suite against a throwaway PostgreSQL
 * cluster on 127.0.0.1 (test/helpers/pg-cluster.ts: stopped and removed afterwards). Needs
 * PostgreSQL's server binaries (Debian: apt-get install postgresql); .ci/run installs them.
 * Each test server creates its own database in the cluster (test/helpers/app.ts). `--help`: its usage.
 */
import { spawnSync } from 'node:child_process';
import { asksForHelp, usageText } from '../../src/scripts/cli.ts';
import { postgresBinDir, startCluster } from '../helpers/pg-cluster.ts';

// every other argument is vitest's, so only --help is read here (vitest's own: npx vitest --help)
if (asksForHelp(process.argv.slice(2))) {
  process.stdout.write(
    usageText({
      usage: 'npm run test:postgres [-- <vitest arguments>…]',
      summary:
        'Runs the test suite against a throwaway PostgreSQL cluster on 127.0.0.1, removed afterwards (needs apt-get install postgresql).',
      notes: ['Any other argument goes to vitest run as given, e.g. a test file or -t "<name>"; vitest\'s own options: npx vitest --help.'],
    }),
  );
  process.exit(0);
}

const bin = postgresBinDir();
if (!bin) {
  console.error('PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install -y postgresql');
  process.exit(2);
}
// many test servers at once, each with its own pool and queue connections
const cluster = await startCluster(bin, { prefix: 'icp-pg-', maxConnections: 300, verbose: true });
let status = 1;
try {
  const result = spawnSync('npx', ['vitest', 'run', ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TEST_DATABASE_URL: cluster.adminUrl },
  });
  status = result.status ?? 1;
} finally {
  cluster.destroy();
}
process.exit(status);
