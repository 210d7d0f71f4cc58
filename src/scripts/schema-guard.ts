/**
 * `npm run schema:guard`: fails when schema.graphql breaks existing clients compared with its
 * previous committed version (SCHEMA_BASE_REF, else HEAD or the version before the last commit
 * that changed it), unless schema-changes.json marks every breaking change as intended. A base
 * that cannot be found is a notice and a pass. Policy, base and marks: docs/development.md
 * ("Breaking-change guard").
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Change, CriticalityLevel, diff } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';
import { parseCommandLine } from './cli.ts';

export const INTENDED_CHANGES_FILE = 'schema-changes.json';
const SCHEMA_FILE = 'schema.graphql';

/** A breaking change someone decided clients can take, and why. */
export interface IntendedChange {
  /** The change's id as the guard prints it: `<inspector change type> <path>`, e.g. `FIELD_REMOVED Query.legacy`. */
  change: string;
  reason: string;
}

export interface SchemaComparison {
  /** Breaking changes not marked intended: the guard fails on any. */
  unintended: Change[];
  /** Breaking changes marked intended, with the mark that allows each. */
  intended: { change: Change; mark: IntendedChange }[];
  /** Changes a client may notice without breaking (a new enum value, a changed default). */
  dangerous: Change[];
  /** Marks that match no breaking change of this comparison. */
  unusedMarks: IntendedChange[];
}

/** `FIELD_REMOVED Query.legacy`: the change type and where; stable across inspector's wording. */
export function changeId(change: Change): string {
  return change.path ? `${change.type} ${change.path}` : change.type;
}

/** Compares two SDL documents; `intended` marks breaking changes as accepted. */
export async function compareSchemas(oldSdl: string, newSdl: string, intended: readonly IntendedChange[] = []): Promise<SchemaComparison> {
  const changes = await diff(buildSchema(oldSdl), buildSchema(newSdl));
  const marks = new Map(intended.map((mark) => [mark.change, mark]));
  const used = new Set<IntendedChange>();
  const result: SchemaComparison = { unintended: [], intended: [], dangerous: [], unusedMarks: [] };
  for (const change of changes) {
    if (change.criticality.level === CriticalityLevel.Dangerous) result.dangerous.push(change);
    if (change.criticality.level !== CriticalityLevel.Breaking) continue;
    const mark = marks.get(changeId(change));
    if (mark) {
      used.add(mark);
      result.intended.push({ change, mark });
    } else {
      result.unintended.push(change);
    }
  }
  result.unusedMarks = intended.filter((mark) => !used.has(mark));
  return result;
}

/** schema-changes.json's `intended` list; throws naming the entry at fault. */
export function parseIntendedChanges(json: string): IntendedChange[] {
  const file: unknown = JSON.parse(json);
  const list = file && typeof file === 'object' ? (file as { intended?: unknown }).intended : undefined;
  if (!Array.isArray(list)) throw new Error(`${INTENDED_CHANGES_FILE} needs an "intended" array`);
  return list.map((entry: unknown, i) => {
    const { change, reason } = (entry ?? {}) as Record<string, unknown>;
    if (typeof change !== 'string' || !change.trim()) throw new Error(`${INTENDED_CHANGES_FILE}: intended[${i}] has no "change"`);
    if (typeof reason !== 'string' || !reason.trim()) {
      throw new Error(`${INTENDED_CHANGES_FILE}: intended[${i}] (${change}) has no "reason": say why clients are fine`);
    }
    return { change: change.trim(), reason };
  });
}

const run = promisify(execFile);

/** Runs git in `cwd`; undefined when it fails (not a repository, unknown ref, missing file). */
async function git(cwd: string, ...args: string[]): Promise<string | undefined> {
  try {
    return (await run('git', args, { cwd, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch {
    return undefined;
  }
}

/** `ref` goes to git; `label` is how the output names it. */
type Base = { ref: string; label: string; why: string } | { notice: string };

async function chooseBase(cwd: string, working: string, baseRef: string | undefined): Promise<Base> {
  if (baseRef) return { ref: baseRef, label: baseRef, why: 'SCHEMA_BASE_REF' };
  const head = await git(cwd, 'show', `HEAD:./${SCHEMA_FILE}`);
  if (head === undefined) return { notice: `${SCHEMA_FILE} has no committed version here (not a git checkout, or not committed yet)` };
  if (head !== working) return { ref: 'HEAD', label: 'HEAD', why: 'the working file has uncommitted changes' };
  const last = (await git(cwd, 'log', '-1', '--format=%H', '--', SCHEMA_FILE))?.trim();
  if (!last) return { notice: `no commit changed ${SCHEMA_FILE}` };
  const short = last.slice(0, 7);
  return { ref: `${last}~1`, label: `${short}~1`, why: `the version before ${short}, the last commit that changed it` };
}

export interface GuardOutcome {
  exitCode: 0 | 1;
  /** What the command prints, one line per entry. */
  lines: string[];
  comparison?: SchemaComparison;
}

const describeChange = (change: Change) => `  ${changeId(change)}: ${change.message}`;

/** The whole check, as `npm run schema:guard` runs it in `cwd` (the project root). */
export async function runSchemaGuard(options: { cwd: string; baseRef?: string }): Promise<GuardOutcome> {
  const { cwd } = options;
  const working = await readFile(path.join(cwd, SCHEMA_FILE), 'utf8');
  const marksJson = await readFile(path.join(cwd, INTENDED_CHANGES_FILE), 'utf8').catch(() => undefined);
  let marks: IntendedChange[];
  try {
    marks = marksJson === undefined ? [] : parseIntendedChanges(marksJson);
  } catch (err) {
    return { exitCode: 1, lines: [(err as Error).message] };
  }

  const base = await chooseBase(cwd, working, options.baseRef);
  if ('notice' in base) return { exitCode: 0, lines: [`schema guard skipped: ${base.notice}`] };
  if ((await git(cwd, 'rev-parse', '--verify', '--quiet', `${base.ref}^{commit}`)) === undefined) {
    const shallow = (await git(cwd, 'rev-parse', '--is-shallow-repository'))?.trim() === 'true';
    const where = shallow ? 'shallow clone' : 'repository (an unknown ref, or the first commit)';
    const lines = [`schema guard skipped: ${base.label} (${base.why}) is not in this ${where}; nothing was compared.`];
    if (shallow) lines.push('Fetch more history (git fetch --unshallow) or set SCHEMA_BASE_REF to a ref this clone has.');
    return { exitCode: 0, lines };
  }
  const old = await git(cwd, 'show', `${base.ref}:./${SCHEMA_FILE}`);
  if (old === undefined) return { exitCode: 0, lines: [`schema guard skipped: ${SCHEMA_FILE} did not exist at ${base.label}`] };

  const comparison = await compareSchemas(old, working, marks);
  const lines = [`${SCHEMA_FILE} compared with ${base.label} (${base.why})`];
  for (const { change, mark } of comparison.intended)
    lines.push(`intended breaking change: ${describeChange(change).trim()} (${mark.reason})`);
  for (const change of comparison.dangerous) lines.push(`dangerous (allowed): ${describeChange(change).trim()}`);
  for (const mark of comparison.unusedMarks) {
    lines.push(
      `note: ${INTENDED_CHANGES_FILE} marks "${mark.change}", which this comparison does not contain; remove it once that change has shipped`,
    );
  }
  if (comparison.unintended.length === 0) {
    lines.push('no unintended breaking changes');
    return { exitCode: 0, lines, comparison };
  }
  lines.push(
    `${comparison.unintended.length} breaking change(s) that existing clients would notice:`,
    ...comparison.unintended.flatMap((change) => [describeChange(change), `    ${change.criticality.reason ?? ''}`.trimEnd()]),
    'Keep the old shape (deprecate rather than remove; add arguments and input fields as optional).',
    `If the break is intended, add it to "intended" in ${INTENDED_CHANGES_FILE} with why clients are fine:`,
    ...comparison.unintended.map((change) => `  ${JSON.stringify({ change: changeId(change), reason: '…' })},`),
  );
  return { exitCode: 1, lines, comparison };
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  parseCommandLine({
    usage: 'npm run schema:guard',
    summary: `Fails on changes to ${SCHEMA_FILE} that break existing clients, unless ${INTENDED_CHANGES_FILE} marks them intended (docs/development.md, "Breaking-change guard").`,
    env: { SCHEMA_BASE_REF: 'the git ref to compare with (default: HEAD, or the version before the last commit that changed the file)' },
  });
  const outcome = await runSchemaGuard({
    cwd: path.resolve(import.meta.dirname, '../..'),
    baseRef: process.env.SCHEMA_BASE_REF || undefined,
  });
  (outcome.exitCode === 0 ? console.log : console.error)(outcome.lines.join('\n'));
  process.exit(outcome.exitCode);
}
