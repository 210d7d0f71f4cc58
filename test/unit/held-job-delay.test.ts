import { describe, expect, it } from 'vitest';
import { heldJobDelayMs } from '../../src/crypto/unreadable.ts';

describe('heldJobDelayMs (a job held back by a record that does not open)', () => {
  it('waits 5 s after the first hold, doubling each time', () => {
    expect([0, 1, 2, 3].map(heldJobDelayMs)).toEqual([5_000, 10_000, 20_000, 40_000]);
  });

  it('never waits more than 15 minutes, however often it was held', () => {
    expect(heldJobDelayMs(8)).toBe(15 * 60_000);
    expect(heldJobDelayMs(1_000)).toBe(15 * 60_000);
  });
});
