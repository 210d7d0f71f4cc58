/**
 * `npm run drill [-- <name>…]`: runs the fault drills (all, or the ones named) one after another
 * and prints a PASS/FAIL/SKIP report with the figures each measured. Exits 1 when any drill
 * failed. Drills: crash, database-outage, hanging-receiver, fuzz (`fuzz` takes `--runs=<n>` and
 * `--seed=<n>`). `--help`: its usage.
 */

import { type Command, parseCommandLine, usageError } from '../src/scripts/cli.ts';
import type { DrillReport } from './harness.ts';

const COMMAND = {
  usage: 'npm run drill [-- <name>…] [-- --runs=<n>] [-- --seed=<n>]',
  summary: 'Runs the fault drills (all, or the ones named) one after another and prints a PASS/FAIL/SKIP report; exits 1 when any failed.',
  positionals: { '<name>': 'crash, database-outage, hanging-receiver or fuzz' },
  options: {
    runs: { type: 'string', value: '<n>', description: 'requests of the fuzz drill (default 10000)' },
    seed: { type: 'string', value: '<n>', description: 'seed of the fuzz drill, to reproduce a run (default: from the clock)' },
  },
} as const satisfies Command;

const { values, positionals: named } = parseCommandLine(COMMAND);
const whole = (name: 'runs' | 'seed', positive: boolean) => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!raw.trim() || !Number.isSafeInteger(n) || (positive && n < 1)) {
    usageError(COMMAND, `--${name}: a ${positive ? 'positive ' : ''}whole number, got "${raw}"`);
  }
  return n;
};
const runs = whole('runs', true);
const seed = whole('seed', false);

// each drill's module loads when it runs: --help and a mistyped name answer at once
const DRILLS: Record<string, () => Promise<DrillReport>> = {
  crash: async () => (await import('./crash.ts')).crashDrill(),
  'database-outage': async () => (await import('./database-outage.ts')).databaseOutageDrill(),
  'hanging-receiver': async () => (await import('./hanging-receiver.ts')).hangingReceiverDrill(),
  fuzz: async () => (await import('./fuzz.ts')).fuzzDrill({ runs, seed }),
};

const unknown = named.filter((n) => !(n in DRILLS));
if (unknown.length) usageError(COMMAND, `unknown drill: ${unknown.join(', ')} (drills: ${Object.keys(DRILLS).join(', ')})`);

function print(report: DrillReport) {
  const verdict = report.skipped ? 'SKIP' : report.failures.length ? 'FAIL' : 'PASS';
  console.log(`\n${verdict}  ${report.name}  (${(report.durationMs / 1000).toFixed(1)} s)`);
  if (report.skipped) console.log(`  ${report.skipped}`);
  const width = Math.max(0, ...Object.keys(report.figures).map((k) => k.length));
  for (const [key, value] of Object.entries(report.figures)) console.log(`  ${key.padEnd(width)}  ${value}`);
  for (const failure of report.failures) console.log(`  ✗ ${failure}`);
  for (const note of report.notes) console.log(`  ${note.split('\n').join('\n    ')}`);
}

const reports: DrillReport[] = [];
for (const name of named.length ? named : Object.keys(DRILLS)) {
  console.log(`running ${name}…`);
  const report = await DRILLS[name]!();
  print(report);
  reports.push(report);
}
const failed = reports.filter((r) => !r.skipped && r.failures.length);
console.log(
  `\n${reports.length - failed.length}/${reports.length} drills passed or skipped${failed.length ? `; failed: ${failed.map((r) => r.name).join(', ')}` : ''}`,
);
process.exit(failed.length ? 1 : 0);
