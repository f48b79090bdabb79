// Backoff on its own: the delays of restarts in a row, their jitter, their bound, and the reset.
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/supervision/backoff.js';

/** A random source that gives `values` in turn, then repeats the last. */
const fixed =
  (...values: number[]) =>
  () =>
    values.length > 1 ? values.shift()! : values[0];

describe('Backoff', () => {
  it('grows by the factor from initial up to max, then stays at max', () => {
    const backoff = new Backoff({ initial: 100, max: 1000, factor: 2, jitter: 0 });
    const delays = Array.from({ length: 7 }, () => backoff.next());
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('takes off at most `jitter` of each delay, never adding to it, so that max is a bound', () => {
    const low = new Backoff({ initial: 100, max: 400, factor: 2, jitter: 0.25 }, fixed(0.999999));
    expect([low.next(), low.next(), low.next(), low.next()]).toEqual([75, 150, 300, 300]);
    const high = new Backoff({ initial: 100, max: 400, factor: 2, jitter: 0.25 }, fixed(0));
    expect([high.next(), high.next(), high.next(), high.next()]).toEqual([100, 200, 400, 400]);
    // With Math.random: every delay within its window.
    const real = new Backoff({ initial: 10, max: 10_000, factor: 1.5, jitter: 0.5 });
    let base = 10;
    for (let i = 0; i < 30; i++) {
      const delay = real.next();
      expect(delay).toBeGreaterThanOrEqual(Math.round(base * 0.5));
      expect(delay).toBeLessThanOrEqual(Math.round(base));
      base = Math.min(10_000, base * 1.5);
    }
  });

  it('starts again from initial after reset()', () => {
    const backoff = new Backoff({ initial: 5, max: 1000, factor: 3, jitter: 0 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([5, 15, 45]);
    backoff.reset();
    expect([backoff.next(), backoff.next()]).toEqual([5, 15]);
  });

  it('restarts at once forever with initial 0, and never grows past max however many restarts', () => {
    const immediate = new Backoff({ initial: 0, max: 1000, factor: 2, jitter: 0.2 });
    for (let i = 0; i < 100; i++) expect(immediate.next()).toBe(0);
    const many = new Backoff({ initial: 1, max: 50, factor: 10, jitter: 0 });
    for (let i = 0; i < 2000; i++) many.next();
    expect(many.next()).toBe(50);
    const flat = new Backoff({ initial: 30, max: 30, factor: 1, jitter: 0 });
    expect([flat.next(), flat.next()]).toEqual([30, 30]);
  });
});
