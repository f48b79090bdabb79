// The call table on its own: ids, settling, deadlines, aborts. No worker is needed: it is pure.
import { describe, expect, it } from 'vitest';
import { CNodeError } from '../../src/errors.js';
import { type Call, CallTable, promiseOf, unsettled } from '../../src/session/call-table.js';

/** A call that records how it ended. */
interface TestCall extends Call {
  outcome: { value?: unknown; error?: CNodeError; gaveUp?: boolean };
  /** Whether settled() ran before the call's promise settled. */
  settledFirst: boolean | undefined;
}

function newCall(timeout: number, signal?: AbortSignal): TestCall {
  return {
    id: 0,
    timeout,
    signal,
    at: Number.POSITIVE_INFINITY,
    waiting: false,
    resolve: unsettled,
    reject: unsettled,
    onAbort: undefined,
    outcome: {},
    settledFirst: undefined,
  };
}

/** A table whose calls record how they ended. */
function table() {
  return new CallTable<TestCall>({
    timedOut: (call) => new CNodeError('ERR_CNODE_CALL_TIMEOUT', `timed out after ${call.timeout} ms`),
    aborted: (_call, reason) => new CNodeError('ERR_CNODE_ABORTED', 'aborted', { cause: reason }),
    settled: (call, gaveUp) => {
      call.settledFirst = call.outcome.value === undefined && call.outcome.error === undefined;
      call.outcome.gaveUp = gaveUp;
    },
  });
}

/** Adds a call to `calls` under a fresh id; its outcome is recorded as it settles. */
function add(calls: CallTable<TestCall>, timeout = 10_000, signal?: AbortSignal): TestCall {
  const call = newCall(timeout, signal);
  call.id = calls.nextId();
  calls.add(call);
  return record(call);
}

/** Makes `call` record its outcome as it settles. */
function record(call: TestCall): TestCall {
  const { resolve, reject } = call;
  call.resolve = (value) => {
    call.outcome.value = value;
    resolve(value);
  };
  call.reject = (error) => {
    call.outcome.error = error;
    reject(error);
  };
  return call;
}

declare function gc(): void; // vitest.config.ts runs the tests with --expose-gc

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CallTable', () => {
  it('resolves and rejects calls by id, once, and counts what is in flight', () => {
    const calls = table();
    const a = add(calls);
    const b = add(calls);
    expect(b.id).not.toBe(a.id);
    expect(calls.size).toBe(2);
    expect(calls.resolve(a.id, 'yes')).toBe(true);
    expect(calls.resolve(a.id, 'again')).toBe(false); // a late or repeated reply
    expect(calls.reject(b.id, new CNodeError('ERR_CNODE_REMOTE', 'no'))).toBe(true);
    expect(calls.resolve(b.id + 64, 'never asked')).toBe(false); // an id that shares a's slot
    expect(a.outcome).toEqual({ value: 'yes', gaveUp: false });
    expect(b.outcome.error?.code).toBe('ERR_CNODE_REMOTE');
    expect([a.settledFirst, b.settledFirst]).toEqual([true, true]); // settled() runs before the promise settles
    expect(calls.size).toBe(0);
  });

  it("settles the call's promise", async () => {
    const calls = table();
    const call = newCall(10_000);
    const promise = promiseOf(call);
    call.id = calls.nextId();
    calls.add(call);
    calls.resolve(call.id, 42);
    await expect(promise).resolves.toBe(42);
    const failing = newCall(10_000);
    const failed = promiseOf(failing);
    failing.id = calls.nextId();
    calls.add(failing);
    calls.reject(failing.id, new CNodeError('ERR_CNODE_REMOTE', 'no'));
    await expect(failed).rejects.toMatchObject({ code: 'ERR_CNODE_REMOTE' });
  });

  it('never reuses the id of a call in flight, and wraps after 2^32 - 1', () => {
    const calls = table();
    const first = add(calls);
    const seen = new Set([first.id]);
    for (let i = 0; i < 1000; i++) seen.add(calls.nextId());
    expect(seen.size).toBe(1001);
    for (const id of seen) expect(id >= 1 && id <= 0xffff_ffff).toBe(true);
  });

  it('skips the ids whose slot a call still waiting holds, and grows as calls pile up', () => {
    const calls = table();
    const slow = add(calls); // stays in flight while thousands come and go
    const ids = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const quick = add(calls);
      expect(quick.id).not.toBe(slow.id);
      ids.add(quick.id);
      expect(calls.resolve(quick.id, i)).toBe(true);
    }
    expect(ids.size).toBe(5000);
    expect(calls.size).toBe(1);
    expect(calls.resolve(slow.id, 'at last')).toBe(true);
    expect(slow.outcome.value).toBe('at last');

    // Many in flight at once, answered out of order: each answer reaches its own call.
    const many = Array.from({ length: 3000 }, () => add(calls));
    expect(new Set(many.map((call) => call.id)).size).toBe(3000);
    expect(calls.size).toBe(3000);
    for (const call of [...many].reverse()) expect(calls.resolve(call.id, call.id)).toBe(true);
    for (const call of many) expect(call.outcome.value).toBe(call.id);
    expect(calls.size).toBe(0);

    // Emptied, the table is small again, and goes on as before.
    const after = Array.from({ length: 100 }, () => add(calls));
    for (const call of after) expect(calls.resolve(call.id, 'after')).toBe(true);
    expect(after.every((call) => call.outcome.value === 'after')).toBe(true);
  });

  it('keeps ids apart when calls are made between nextId() and add()', () => {
    const calls = table();
    const outer = newCall(10_000);
    outer.id = calls.nextId();
    // As a getter of the outer call's message could: 64 calls, the last left in flight in the
    // slot the outer call's id names in a table of 64.
    for (let i = 0; i < 63; i++) calls.resolve(add(calls).id, i);
    const inner = add(calls);
    expect(inner.id).toBe(outer.id + 64);
    calls.add(record(outer));
    expect(calls.size).toBe(2);
    for (const call of [outer, inner]) expect(calls.resolve(call.id, call.id)).toBe(true);
    for (const call of [outer, inner]) expect(call.outcome.value).toBe(call.id);
    expect(calls.size).toBe(0);
  });

  it('times a call out at its deadline, and reports it given up', async () => {
    const calls = table();
    const slow = add(calls, 30);
    await sleep(80);
    expect(slow.outcome.error?.code).toBe('ERR_CNODE_CALL_TIMEOUT');
    expect(slow.outcome.error?.message).toBe('timed out after 30 ms');
    expect(slow.outcome.gaveUp).toBe(true);
    expect(calls.resolve(slow.id, 'too late')).toBe(false);
    expect(calls.size).toBe(0);
  });

  it('times out only the calls still in flight, in deadline order across timeouts', async () => {
    const calls = table();
    const order: number[] = [];
    const track = (call: TestCall) => {
      const { reject } = call;
      call.reject = (error) => {
        order.push(call.timeout);
        reject(error);
      };
      return call;
    };
    const late = track(add(calls, 60));
    const answered = Array.from({ length: 2000 }, () => add(calls, 40)); // answered out of order below
    const early = track(add(calls, 20));
    const middle = track(add(calls, 40));
    for (const call of answered.filter((_, i) => i % 3 !== 0)) calls.resolve(call.id, 'ok');
    for (const call of answered.filter((_, i) => i % 3 === 0)) calls.resolve(call.id, 'ok');
    await sleep(120);
    expect(order).toEqual([20, 40, 60]);
    for (const call of [late, early, middle]) expect(call.outcome.error?.code).toBe('ERR_CNODE_CALL_TIMEOUT');
    for (const call of answered) expect(call.outcome).toEqual({ value: 'ok', gaveUp: false });
    expect(calls.size).toBe(0);

    // The table still times calls out after its queues have emptied.
    const again = add(calls, 20);
    await sleep(60);
    expect(again.outcome.error?.code).toBe('ERR_CNODE_CALL_TIMEOUT');
  });

  it('keeps nothing of a settled call alive while an older one still waits', async () => {
    const calls = table();
    const slow = add(calls); // the head of the deadline queue, for the whole test
    const responses: WeakRef<object>[] = [];
    await (async () => {
      for (let i = 0; i < 500; i++) {
        const call = newCall(10_000);
        const settled = promiseOf(call);
        call.id = calls.nextId();
        calls.add(call);
        const response = { i, bytes: new Uint8Array(1024) };
        responses.push(new WeakRef(response));
        calls.resolve(call.id, response);
        await settled;
      }
    })();
    await sleep(0);
    gc();
    expect(responses.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    expect(calls.resolve(slow.id, 'done')).toBe(true);
  });

  it('rejects an aborted call with its reason and forgets its listener', () => {
    const calls = table();
    const controller = new AbortController();
    const call = add(calls, 10_000, controller.signal);
    controller.abort('changed my mind');
    expect(call.outcome.error?.code).toBe('ERR_CNODE_ABORTED');
    expect(call.outcome.error?.cause).toBe('changed my mind');
    expect(call.outcome.gaveUp).toBe(true);
    const other = add(calls, 10_000, controller.signal); // an aborted signal's listeners do not run again
    calls.close(new CNodeError('ERR_CNODE_EXITED', 'gone'));
    expect(other.outcome.error?.code).toBe('ERR_CNODE_EXITED');

    // A call that settles first no longer listens: a later abort changes nothing.
    const later = new AbortController();
    const again = table();
    const answered = add(again, 10_000, later.signal);
    again.resolve(answered.id, 'done');
    later.abort('too late');
    expect(answered.outcome).toEqual({ value: 'done', gaveUp: false });
  });

  it('close() rejects every call in flight, oldest first, and stops the timer', async () => {
    const calls = table();
    const order: number[] = [];
    // The ids move on to the end of the table's first 64 slots: the five below wrap round to its start.
    for (let i = 0; i < 61; i++) calls.resolve(add(calls).id, i);
    const made = Array.from({ length: 5 }, (_, i) => add(calls, 30 + i));
    for (const call of made) {
      const { reject } = call;
      call.reject = (error) => {
        order.push(call.id);
        reject(error);
      };
    }
    calls.close(new CNodeError('ERR_CNODE_EXITED', 'gone'));
    expect(made.map(({ outcome }) => [outcome.error?.code, outcome.gaveUp])).toEqual(
      Array(5).fill(['ERR_CNODE_EXITED', false]),
    );
    expect(order).toEqual(made.map((call) => call.id));
    expect(calls.size).toBe(0);
    await sleep(60); // no timeout comes after close()
    for (const call of made) expect(call.outcome.error?.code).toBe('ERR_CNODE_EXITED');
  });
});
