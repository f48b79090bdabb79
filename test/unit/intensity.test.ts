// Restart intensity on its own, with explicit times: what counts within the period, and how a
// child's backoff delays are left out of its clock.
import { describe, expect, it } from 'vitest';
import { Intensity } from '../../src/supervision/intensity.js';

describe('Intensity', () => {
  it('gives up on the restart that makes more than maxRestarts within the period, as OTP does', () => {
    const intensity = new Intensity(3, 1000);
    expect(intensity.record('a', 0)).toBe(false);
    expect(intensity.record('a', 100)).toBe(false);
    expect(intensity.record('b', 200)).toBe(false); // all children count together
    expect(intensity.record('a', 999)).toBe(true);
  });

  it('forgets a restart once it is period old', () => {
    const intensity = new Intensity(1, 1000);
    expect(intensity.record('a', 0)).toBe(false);
    expect(intensity.count(999)).toBe(1);
    expect(intensity.count(1000)).toBe(0);
    expect(intensity.record('a', 1000)).toBe(false);
    expect(intensity.record('a', 1500)).toBe(true);
  });

  it('gives up on the first restart with maxRestarts 0', () => {
    expect(new Intensity(0, 1000).record('a', 0)).toBe(true);
  });

  it('does not age a restart while its child waits out a backoff delay: a crash loop slowed by backoff still trips', () => {
    // A child that crashes 10 ms after each start, waiting 100, 200, 400... ms before each
    // restart: on the wall clock its restarts soon come more than period / maxRestarts apart.
    const intensity = new Intensity(3, 500);
    let time = 0;
    let tripped = -1;
    for (let restart = 0; restart < 10 && tripped < 0; restart++) {
      time += 10; // runs, then crashes
      if (intensity.record('a', time)) tripped = restart;
      intensity.pause('a', time);
      time += 100 * 2 ** restart; // waits
      intensity.resume('a', time);
    }
    expect(tripped).toBe(3); // the fourth restart, 730 ms of wall clock after the first
    // The same loop on the wall clock would never trip.
    const wall = new Intensity(3, 500);
    time = 0;
    for (let restart = 0; restart < 10; restart++) {
      time += 10;
      expect(wall.record('a', time)).toBe(false);
      time += 100 * 2 ** restart;
    }
  });

  it("counts a child's wait against its own restarts only: another child's clock runs on", () => {
    const intensity = new Intensity(1, 1000);
    intensity.record('a', 0);
    intensity.pause('a', 0); // a waits a long delay
    intensity.record('b', 500);
    // At 1600: b's restart is 1100 ms old on b's clock (forgotten), a's still 0 ms old on its own.
    expect(intensity.count(1600)).toBe(1);
    intensity.resume('a', 5000);
    expect(intensity.count(5999)).toBe(1);
    expect(intensity.count(6000)).toBe(0);
  });

  it('ages a restart again while its child runs, starts or is stopped, and any restart may go first', () => {
    const intensity = new Intensity(5, 1000);
    intensity.record('a', 0);
    intensity.record('b', 100);
    intensity.pause('a', 100);
    intensity.resume('a', 600); // a's restart is 100 ms old at 600
    expect(intensity.count(1150)).toBe(1); // b's (1050 ms) is gone before a's (650 ms)
    expect(intensity.count(1499)).toBe(1);
    expect(intensity.count(1500)).toBe(0);
    // Pausing twice, or resuming a running clock, changes nothing.
    intensity.record('c', 2000);
    intensity.pause('c', 2000);
    intensity.pause('c', 2500);
    intensity.resume('c', 3000);
    intensity.resume('c', 3500);
    expect(intensity.count(3999)).toBe(1);
    expect(intensity.count(4000)).toBe(0);
  });
});
