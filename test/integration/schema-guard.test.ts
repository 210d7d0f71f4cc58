/**
 * The breaking-change guard (src/scripts/schema-guard.ts): the comparison on small schemas, the
 * choice of base in throwaway git repositories (uncommitted change, last committed change,
 * shallow clone, unknown ref), and the real check on this repository's history.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  changeId,
  compareSchemas,
  INTENDED_CHANGES_FILE,
  type IntendedChange,
  parseIntendedChanges,
  runSchemaGuard,
} from '../../src/scripts/schema-guard.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

const BASE = /* GraphQL */ `
  type Query {
    widget(id: ID): Widget
    legacy: String
  }
  type Widget {
    id: ID!
    name: String!
  }
  enum Color {
    RED
  }
`;

const ids = async (oldSdl: string, newSdl: string, intended: IntendedChange[] = []) =>
  (await compareSchemas(oldSdl, newSdl, intended)).unintended.map(changeId);

describe('compareSchemas', () => {
  it('finds nothing between identical schemas', async () => {
    expect(await compareSchemas(BASE, BASE)).toEqual({ unintended: [], intended: [], dangerous: [], unusedMarks: [] });
  });

  it('fails on a removed field', async () => {
    expect(await ids(BASE, BASE.replace('legacy: String', ''))).toEqual(['FIELD_REMOVED Query.legacy']);
  });

  it('passes an added optional field and an added optional argument', async () => {
    const added = BASE.replace('name: String!', 'name: String!\n    color(shade: Int): Color');
    expect(await ids(BASE, added)).toEqual([]);
  });

  it('fails when a nullable argument becomes non-null', async () => {
    expect(await ids(BASE, BASE.replace('widget(id: ID)', 'widget(id: ID!)'))).toEqual(['FIELD_ARGUMENT_TYPE_CHANGED Query.widget.id']);
  });

  it('fails on an added required argument and a removed enum value', async () => {
    const changed = BASE.replace('legacy: String', 'legacy(locale: String!): String').replace('RED', 'BLUE');
    expect((await ids(BASE, changed)).sort()).toEqual(['ENUM_VALUE_REMOVED Color.RED', 'FIELD_ARGUMENT_ADDED Query.legacy.locale']);
  });

  it('passes a marked breaking change and still fails an unmarked one beside it', async () => {
    const changed = BASE.replace('legacy: String', '').replace('widget(id: ID)', 'widget(id: ID!)');
    const mark = { change: 'FIELD_REMOVED Query.legacy', reason: 'no client has read it since 0.3' };
    const result = await compareSchemas(BASE, changed, [mark]);
    expect(result.intended.map((i) => [changeId(i.change), i.mark])).toEqual([['FIELD_REMOVED Query.legacy', mark]]);
    expect(result.unintended.map(changeId)).toEqual(['FIELD_ARGUMENT_TYPE_CHANGED Query.widget.id']);
    expect(result.unusedMarks).toEqual([]);
  });

  it('reports marks that match no change, and dangerous changes, without failing', async () => {
    const mark = { change: 'FIELD_REMOVED Query.gone', reason: 'shipped long ago' };
    const result = await compareSchemas(BASE, BASE.replace('RED', 'RED\n    GREEN'), [mark]);
    expect(result.unintended).toEqual([]);
    expect(result.unusedMarks).toEqual([mark]);
    expect(result.dangerous.map(changeId)).toEqual(['ENUM_VALUE_ADDED Color.GREEN']);
  });
});

describe(INTENDED_CHANGES_FILE, () => {
  it('is valid', async () => {
    expect(() => parseIntendedChanges(readFileSync(path.join(ROOT, INTENDED_CHANGES_FILE), 'utf8'))).not.toThrow();
  });

  it('needs a reason for every mark', () => {
    expect(() => parseIntendedChanges('{"intended":[{"change":"FIELD_REMOVED Query.legacy"}]}')).toThrow(/no "reason"/);
    expect(() => parseIntendedChanges('{"intended":[{"reason":"why"}]}')).toThrow(/intended\[0\] has no "change"/);
    expect(() => parseIntendedChanges('[]')).toThrow(/"intended" array/);
  });
});

const run = promisify(execFile);
const tempDirs: string[] = [];
afterAll(async () => {
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

/** A throwaway repository; `git` runs in it with a fixed identity and no signing. */
async function tempRepo() {
  const dir = await mkdtemp(path.join(tmpdir(), 'icp-schema-guard-'));
  tempDirs.push(dir);
  const git = async (...args: string[]) =>
    (await run('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], { cwd: dir }))
      .stdout;
  await git('init', '-q');
  const write = (file: string, text: string) => writeFile(path.join(dir, file), text);
  const commit = async (message: string) => {
    await git('add', '-A');
    await git('commit', '-q', '-m', message);
  };
  return { dir, git, write, commit };
}

const REMOVED = BASE.replace('legacy: String', '');

describe('runSchemaGuard against git history', () => {
  it('compares an uncommitted schema.graphql with HEAD', async () => {
    const repo = await tempRepo();
    await repo.write('schema.graphql', BASE);
    await repo.commit('v1');
    await repo.write('schema.graphql', REMOVED);
    const outcome = await runSchemaGuard({ cwd: repo.dir });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.lines[0]).toMatch(/compared with HEAD/);
    expect(outcome.lines.join('\n')).toContain('{"change":"FIELD_REMOVED Query.legacy","reason":"…"}');
  });

  it('compares a committed schema.graphql with the version before the last commit that changed it', async () => {
    const repo = await tempRepo();
    await repo.write('schema.graphql', BASE);
    await repo.commit('v1');
    await repo.write('schema.graphql', REMOVED);
    await repo.commit('v2 removes Query.legacy');
    await repo.write('other.txt', 'unrelated');
    await repo.commit('unrelated');
    const failing = await runSchemaGuard({ cwd: repo.dir });
    expect(failing.exitCode).toBe(1);
    expect(failing.comparison?.unintended.map(changeId)).toEqual(['FIELD_REMOVED Query.legacy']);

    await repo.write(INTENDED_CHANGES_FILE, JSON.stringify({ intended: [{ change: 'FIELD_REMOVED Query.legacy', reason: 'unused' }] }));
    const marked = await runSchemaGuard({ cwd: repo.dir });
    expect(marked.exitCode).toBe(0);
    expect(marked.lines.join('\n')).toContain('intended breaking change: FIELD_REMOVED Query.legacy');
  });

  it('skips with a notice in a shallow clone, for an unknown ref and for a first version', async () => {
    const repo = await tempRepo();
    await repo.write('schema.graphql', BASE);
    await repo.commit('v1');
    const first = await runSchemaGuard({ cwd: repo.dir });
    expect(first).toMatchObject({ exitCode: 0, lines: [expect.stringMatching(/skipped: .*~1 .* is not in this repository/)] });

    await repo.write('schema.graphql', REMOVED);
    await repo.commit('v2 removes Query.legacy');
    const shallow = path.join(repo.dir, 'shallow');
    await run('git', ['clone', '-q', '--depth', '1', `file://${repo.dir}`, shallow]);
    const outcome = await runSchemaGuard({ cwd: shallow });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.lines.join('\n')).toMatch(/skipped: .*~1 .* is not in this shallow clone[\s\S]*git fetch --unshallow/);

    const unknown = await runSchemaGuard({ cwd: repo.dir, baseRef: 'origin/no-such-branch' });
    expect(unknown.exitCode).toBe(0);
    expect(unknown.lines[0]).toMatch(/skipped: origin\/no-such-branch \(SCHEMA_BASE_REF\) is not in this repository/);
  });

  it('fails on an invalid schema-changes.json', async () => {
    const repo = await tempRepo();
    await repo.write('schema.graphql', BASE);
    await repo.write(INTENDED_CHANGES_FILE, '{"intended":[{"change":"FIELD_REMOVED Query.legacy"}]}');
    expect(await runSchemaGuard({ cwd: repo.dir })).toMatchObject({ exitCode: 1, lines: [expect.stringMatching(/no "reason"/)] });
  });
});

describe('this repository', () => {
  it('has no unintended breaking change against the previous committed schema.graphql (npm run schema:guard)', async () => {
    const outcome = await runSchemaGuard({ cwd: ROOT });
    expect(outcome.lines.join('\n')).not.toMatch(/breaking change\(s\)/);
    expect(outcome.exitCode).toBe(0);
  });
});
