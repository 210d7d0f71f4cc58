/**
 * `npm run drill [-- <name>…]`: runs the fault drills (all, or the ones named) one after another
 * and prints a PASS/FAIL/SKIP report with the figures each measured. Exits 1 when any drill
 * failed. Drills: crash, database-outage, hanging-receiver, fuzz (`fuzz` takes `--runs=<n>` and
 * `--seed=<n>`).
 */
import { crashDrill } from './crash.ts';
import { databaseOutageDrill } from './database-outage.ts';
import { fuzzDrill } from './fuzz.ts';
import { hangingReceiverDrill } from './hanging-receiver.ts';
import type { DrillReport } from './harness.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const value = args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  return value === undefined ? undefined : Number(value);
};

const DRILLS: Record<string, () => Promise<DrillReport>> = {
  crash: () => crashDrill(),
  'database-outage': () => databaseOutageDrill(),
  'hanging-receiver': () => hangingReceiverDrill(),
  fuzz: () => fuzzDrill({ runs: flag('runs'), seed: flag('seed') }),
};

const named = args.filter((a) => !a.startsWith('--'));
const unknown = named.filter((n) => !(n in DRILLS));
if (unknown.length) {
  console.error(`unknown drill: ${unknown.join(', ')} (drills: ${Object.keys(DRILLS).join(', ')})`);
  process.exit(2);
}

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
