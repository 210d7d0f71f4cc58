/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: where a CPU profile of the
 * bench server (BENCH_PROFILE) spent its time, as text: self time by package (or `src/` file),
 * then the functions with the most self time and the most inclusive time (callees included).
 * Percentages are of the time not idle.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

/** Microseconds of samples per node id. */
const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
});

const IDLE = new Set(['(idle)', '(program)']);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

function where(url: string): string {
  if (!url) return '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:internal/')) return url.split('/').slice(0, 3).join('/');
  if (url.startsWith('node:')) return url;
  const src = /\/(src|test)\/(.+)$/.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  return url;
}
const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

let busy = 0;
const byPlace = new Map<string, number>();
const bySelf = new Map<string, number>();
for (const [id, us] of selfTime) {
  const node = byId.get(id)!;
  if (IDLE.has(node.callFrame.functionName)) continue;
  busy += us;
  const place = node.callFrame.functionName === '(garbage collector)' ? '(garbage collector)' : where(node.callFrame.url);
  byPlace.set(place, (byPlace.get(place) ?? 0) + us);
  bySelf.set(key(node), (bySelf.get(key(node)) ?? 0) + us);
}

// inclusive: each function once per stack, however deep its recursion
const inclusive = new Map<string, number>();
const parents = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
for (const [id, us] of selfTime) {
  if (IDLE.has(byId.get(id)!.callFrame.functionName)) continue;
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
    const k = key(byId.get(at)!);
    if (k.startsWith('(root)') || seen.has(k)) continue;
    seen.add(k);
    inclusive.set(k, (inclusive.get(k) ?? 0) + us);
  }
}

const total = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${total.toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (${((busy / 1e6 / total) * 100).toFixed(0)}%)`);
const print = (title: string, map: Map<string, number>, n: number) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
  }
};
print('self time by package or file', byPlace, top);
print('self time by function', bySelf, top);
print('inclusive time by function', inclusive, top);
