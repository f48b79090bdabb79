// A pool's start backoff on its own: each slot's delays grow apart from the others', and a success resets its own.
import { describe, expect, it } from 'vitest';
import { StartBackoff } from '../../src/pool/start-backoff.js';

describe('StartBackoff', () => {
  it('lets a slot that never failed start at once', () => {
    expect(new StartBackoff().readyIn(3, 1000)).toBe(0);
  });

  it('grows a failing slot’s delay from 100 ms, doubling, to 10 s, shortened by at most a fifth', () => {
    const backoff = new StartBackoff();
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      backoff.failed(1, 0);
      delays.push(backoff.readyIn(1, 0));
    }
    const bases = [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000];
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(bases[i] * 0.8 - 1);
      expect(delay).toBeLessThanOrEqual(bases[i]);
    });
  });

  it('keeps each slot’s failures to itself, and a success resets only its own', () => {
    const backoff = new StartBackoff();
    for (let i = 0; i < 6; i++) backoff.failed(1, 0); // a host that is down
    backoff.failed(0, 0);
    expect(backoff.readyIn(0, 0)).toBeLessThanOrEqual(100);
    expect(backoff.readyIn(1, 0)).toBeGreaterThan(2000);
    expect(backoff.readyIn(2, 0)).toBe(0);
    backoff.succeeded(0);
    expect(backoff.readyIn(0, 0)).toBe(0);
    expect(backoff.readyIn(1, 0)).toBeGreaterThan(2000);
    expect(backoff.readyIn(1, 1e9)).toBe(0); // its time has come
  });
});
