import { describe, expect, it } from 'vitest';
import { findInputProblem, INPUT_LIMITS, nestsTooDeep } from '../../src/graphql-hardening/input-limits.ts';

describe('findInputProblem', () => {
  const nested = (levels: number, leaf: unknown = 1): unknown => {
    let value = leaf;
    for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { a: value };
    return value;
  };

  it('finds a NUL in a string or a key, with where it is', () => {
    expect(findInputProblem('a\u0000')).toEqual({ kind: 'nul', path: [] });
    expect(findInputProblem({ x: [1, { y: 'b\u0000c' }] }, ['v'])).toEqual({ kind: 'nul', path: ['v', 'x', 1, 'y'] });
    expect(findInputProblem({ x: { 'k\u0000': 1 } }, ['v'])).toEqual({ kind: 'nul-key', path: ['v', 'x'] });
    expect(findInputProblem({ 'a b': { c: '\u0000' } })).toEqual({ kind: 'nul', path: ['?', 'c'] });
  });

  it('finds a lone UTF-16 surrogate in a string or a key, and lets a pair through', () => {
    expect(findInputProblem('a\udc00')).toEqual({ kind: 'surrogate', path: [] });
    expect(findInputProblem({ x: ['\ud800z'] }, ['v'])).toEqual({ kind: 'surrogate', path: ['v', 'x', 0] });
    expect(findInputProblem({ x: { 'k\udfff': 1 } }, ['v'])).toEqual({ kind: 'surrogate-key', path: ['v', 'x'] });
    expect(findInputProblem({ '\ud83d\ude00': 'emoji \ud83d\ude00' })).toBeUndefined();
  });

  it(`allows ${INPUT_LIMITS.depth} levels of lists and objects and refuses one more`, () => {
    expect(findInputProblem(nested(INPUT_LIMITS.depth))).toBeUndefined();
    expect(findInputProblem(nested(INPUT_LIMITS.depth + 1))?.kind).toBe('depth');
  });

  it('walks 100,000 levels without running out of stack', () => {
    expect(findInputProblem(nested(100_000))?.kind).toBe('depth');
  });

  it('leaves everything else alone', () => {
    for (const value of [null, undefined, 0, true, '', 'plain \t text \u2028 é', [], {}, { a: [1, 'x', null] }]) {
      expect(findInputProblem(value)).toBeUndefined();
    }
  });
});

describe('nestsTooDeep', () => {
  const limit = INPUT_LIMITS.documentNesting;

  it('counts braces, brackets and parentheses', () => {
    expect(nestsTooDeep(`${'{'.repeat(limit)}${'}'.repeat(limit)}`)).toBe(false);
    expect(nestsTooDeep(`${'{'.repeat(limit + 1)}${'}'.repeat(limit + 1)}`)).toBe(true);
    expect(nestsTooDeep(`{ a(b: ${'['.repeat(limit)}1${']'.repeat(limit)}) }`)).toBe(true);
    // siblings do not add up
    expect(nestsTooDeep(`{ ${'a { b } '.repeat(1000)} }`)).toBe(false);
  });

  it('skips strings, block strings and comments', () => {
    const many = '{'.repeat(limit + 1);
    expect(nestsTooDeep(`{ a(b: "${many}") }`)).toBe(false);
    expect(nestsTooDeep(`{ a(b: "\\"${many}") }`)).toBe(false);
    expect(nestsTooDeep(`{ a(b: """x\\"""${many}""") }`)).toBe(false);
    expect(nestsTooDeep(`# ${many}\n{ a }`)).toBe(false);
  });

  it('does not let a string or comment hide what follows the end of its line', () => {
    const many = '{'.repeat(limit + 1);
    expect(nestsTooDeep(`# comment\r${many}`)).toBe(true);
    expect(nestsTooDeep(`{ a(b: "unterminated\n${many}`)).toBe(true);
    expect(nestsTooDeep(`"""closed""" ${many}`)).toBe(true);
  });
});
