// How a scenario runs its contenders: warm each up, then measure them in interleaved rounds
// (A B C D, B C D A, ...) so that a burst of noise on a shared machine hits them all alike,
// and no contender always goes first or last.

/** The message of the small-call scenarios and profiles: a 64-byte string. */
export const PAYLOAD = 'The quick brown fox jumps over the lazy dog; 64 bytes of UTF-8!!';

/**
 * Runs `measure(contender, round)` for each contender in each round, after one unmeasured
 * `warmup(contender)` each. Returns a Map from contender name to the list of per-round results.
 */
export async function interleave(contenders, { rounds, warmup, measure }) {
  for (const contender of contenders) await warmup(contender);
  const results = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(round + i) % contenders.length];
      results.get(contender.name).push(await measure(contender, round));
    }
  }
  return results;
}

/** Starts the contenders one after the other, and stops those started if one fails. */
export async function startAll(factories) {
  const started = [];
  try {
    for (const create of factories) {
      const contender = create();
      await contender.start();
      started.push(contender);
    }
    return started;
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

export async function stopAll(contenders) {
  await Promise.allSettled(contenders.map((c) => c.stop()));
}

/**
 * Issues `total` calls of `call()` keeping `inFlight` of them outstanding, and resolves with the
 * elapsed milliseconds once the last has answered. Rejects with the first failure.
 */
/** `count` sequential round trips of `payload`, each checked; returns each one's time in µs. */
export async function roundTrips(contender, count, payload) {
  const times = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const answer = await contender.call(payload);
    times[i] = (performance.now() - start) * 1000;
    if (answer !== payload) throw new Error(`${contender.name} answered ${JSON.stringify(answer)}`);
  }
  return Array.from(times);
}

export function pipelined(call, total, inFlight) {
  return new Promise((resolve, reject) => {
    let issued = 0;
    let answered = 0;
    const start = performance.now();
    const next = () => {
      if (issued === total) return;
      issued++;
      call().then(() => {
        if (++answered === total) resolve(performance.now() - start);
        else next();
      }, reject);
    };
    for (let i = 0; i < Math.min(inFlight, total); i++) next();
  });
}

/**
 * A full garbage collection, then a turn of the event loop for the finalizers it queued (an
 * external Buffer's, which unmap and close its memory): between two measured rounds, so that a
 * round does not pay for the garbage of the contender before it. Does nothing without node
 * --expose-gc (npm run bench passes it).
 */
export async function collectGarbage() {
  if (!globalThis.gc) return;
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
}
