// Fault model, worker side: the worker dies in every way, with 0, 1 and 1,000 calls in flight.
// Each case: the owner survives, every call settles with ERR_CNODE_EXITED within a bound, the
// exit information names the signal or the code, and nothing is left behind. Conformance: every
// test here runs over each of TRANSPORTS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CNode, type CNodeError } from '../../src/index.js';
import {
  descriptorBaseline,
  expectNothingLeft,
  isAlive,
  rejection,
  socketDirectories,
  TRANSPORTS,
  workerOptions,
} from '../helpers.js';

/** The most a call may take to settle once the worker is dead. */
const SETTLE_BOUND_MS = 2000;

const deaths = [
  { how: 'SIGKILL', op: { op: 'kill-self', signal: 9 }, exit: { exitCode: null, signal: 'SIGKILL' } },
  { how: 'SIGSEGV', op: { op: 'crash' }, exit: { exitCode: null, signal: 'SIGSEGV' } },
  { how: 'abort()', op: { op: 'abort' }, exit: { exitCode: null, signal: 'SIGABRT' } },
  { how: 'exit(3)', op: { op: 'exit', code: 3 }, exit: { exitCode: 3, signal: null } },
  { how: 'exit(0), unasked', op: { op: 'exit', code: 0 }, exit: { exitCode: 0, signal: null } },
] as const;

describe.each(TRANSPORTS)('over %s', (transport) => {
  let descriptors = 0;
  beforeAll(async () => {
    descriptors = await descriptorBaseline(transport); // zeromq opens its context once
  });

  afterAll(async () => {
    await expectNothingLeft({ descriptors });
  });

  describe('the worker dies', () => {
    for (const death of deaths) {
      for (const inFlight of [0, 1, 1000]) {
        it(`by ${death.how} with ${inFlight} calls in flight: every call fails with the exit, nothing is left`, async () => {
          const node = await CNode.start(workerOptions('testbed', { transport }).options);
          // The calls are sent behind the fatal op, so the worker dies before it answers any.
          await node.send({ op: 'sleep', ms: 20 });
          await node.send(death.op);
          const started = Date.now();
          const calls = Array.from({ length: inFlight }, (_, i) => rejection(node.call(i)));
          const errors: CNodeError[] = await Promise.all(calls);
          const info = await node.exited;
          expect(Date.now() - started).toBeLessThan(SETTLE_BOUND_MS);

          expect(info).toMatchObject({ ...death.exit, stopped: false, fault: null });
          const named = death.exit.signal
            ? `was killed by ${death.exit.signal}`
            : `exited with code ${death.exit.exitCode}`;
          errors.push(await rejection(node.call('after'))); // and a call after the death
          for (const error of errors) {
            expect(error).toMatchObject({ code: 'ERR_CNODE_EXITED', ...death.exit });
            expect(error.message).toContain(named);
          }
          expect(isAlive(node.pid)).toBe(false);
          expect(socketDirectories()).toEqual([]); // over ipc; tcp makes none
        });
      }
    }
  });
});
