// The call table on its own: ids, settling, deadlines, aborts. No worker is needed: it is pure.
import { describe, expect, it } from 'vitest';
import { CNodeError } from '../../src/errors.js';
import { type CallEntry, CallTable } from '../../src/session/call-table.js';

/** A call entry that records how it ended. */
function entry(timeout = 10_000, signal?: AbortSignal) {
  const outcome: { value?: unknown; error?: CNodeError; gaveUp?: boolean } = {};
  const settledFirst: boolean[] = [];
  const call: CallEntry = {
    timeout,
    signal,
    resolve: (value) => (outcome.value = value),
    reject: (error) => (outcome.error = error),
    timedOut: () => new CNodeError('ERR_CNODE_CALL_TIMEOUT', 'timed out'),
    aborted: (reason) => new CNodeError('ERR_CNODE_ABORTED', 'aborted', { cause: reason }),
    settled: (gaveUp) => {
      settledFirst.push(outcome.value === undefined && outcome.error === undefined);
      outcome.gaveUp = gaveUp;
    },
  };
  return { call, outcome, settledFirst };
}

describe('CallTable', () => {
  it('resolves and rejects calls by id, once, and counts what is in flight', () => {
    const table = new CallTable();
    const a = entry();
    const b = entry();
    const idA = table.nextId();
    table.add(idA, a.call);
    const idB = table.nextId();
    table.add(idB, b.call);
    expect(idB).not.toBe(idA);
    expect(table.size).toBe(2);
    expect(table.resolve(idA, 'yes')).toBe(true);
    expect(table.resolve(idA, 'again')).toBe(false); // a late or repeated reply
    expect(table.reject(idB, new CNodeError('ERR_CNODE_REMOTE', 'no'))).toBe(true);
    expect(a.outcome).toEqual({ value: 'yes', gaveUp: false });
    expect(b.outcome.error?.code).toBe('ERR_CNODE_REMOTE');
    expect([...a.settledFirst, ...b.settledFirst]).toEqual([true, true]); // settled() runs before the promise settles
    expect(table.size).toBe(0);
  });

  it('never reuses the id of a call in flight, and wraps after 2^32 - 1', () => {
    const table = new CallTable();
    const first = table.nextId();
    table.add(first, entry().call);
    const seen = new Set([first]);
    for (let i = 0; i < 1000; i++) seen.add(table.nextId());
    expect(seen.size).toBe(1001);
    for (const id of seen) expect(id >= 1 && id <= 0xffff_ffff).toBe(true);
  });

  it('times a call out at its deadline, and reports it given up', async () => {
    const table = new CallTable();
    const slow = entry(30);
    const id = table.nextId();
    table.add(id, slow.call);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(slow.outcome.error?.code).toBe('ERR_CNODE_CALL_TIMEOUT');
    expect(slow.outcome.gaveUp).toBe(true);
    expect(table.resolve(id, 'too late')).toBe(false);
    expect(table.size).toBe(0);
  });

  it('rejects an aborted call with its reason and forgets its listener', () => {
    const table = new CallTable();
    const controller = new AbortController();
    const call = entry(10_000, controller.signal);
    table.add(table.nextId(), call.call);
    controller.abort('changed my mind');
    expect(call.outcome.error?.code).toBe('ERR_CNODE_ABORTED');
    expect(call.outcome.error?.cause).toBe('changed my mind');
    expect(call.outcome.gaveUp).toBe(true);
    const other = entry(10_000, controller.signal); // an aborted signal's listeners do not run again
    table.add(table.nextId(), other.call);
    table.close(new CNodeError('ERR_CNODE_EXITED', 'gone'));
    expect(other.outcome.error?.code).toBe('ERR_CNODE_EXITED');
  });

  it('close() rejects every call in flight and stops the timer', () => {
    const table = new CallTable();
    const calls = Array.from({ length: 5 }, (_, i) => entry(100 + i));
    for (const { call } of calls) table.add(table.nextId(), call);
    table.close(new CNodeError('ERR_CNODE_EXITED', 'gone'));
    expect(calls.map(({ outcome }) => [outcome.error?.code, outcome.gaveUp])).toEqual(
      Array(5).fill(['ERR_CNODE_EXITED', false]),
    );
    expect(table.size).toBe(0);
  });
});
