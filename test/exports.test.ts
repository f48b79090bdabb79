// What a user imports: every public value and every type that appears in the public API.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  CallOptions,
  CNodeErrorCode,
  CNodeErrorFields,
  CNodeEvents,
  CNodeOptions,
  ExitInfo,
  HeartbeatOptions,
  SendOptions,
  StopOptions,
} from '../src/index.js';
import * as cnode from '../src/index.js';

describe('the package index', () => {
  it('exports the classes and constants', () => {
    expect(Object.keys(cnode).sort()).toEqual([
      'CNode',
      'CNodeError',
      'MAX_SHARED_BYTES',
      'SharedBuffer',
      'isAbnormal',
    ]);
  });

  it("exports the types of every method's parameters and results", () => {
    expectTypeOf(cnode.CNode.start).parameter(0).toEqualTypeOf<CNodeOptions>();
    expectTypeOf<NonNullable<CNodeOptions['heartbeat']>>().toMatchTypeOf<Partial<HeartbeatOptions>>();
    expectTypeOf<cnode.CNode['call']>().parameter(1).toEqualTypeOf<CallOptions | undefined>();
    expectTypeOf<cnode.CNode['send']>().parameter(1).toEqualTypeOf<SendOptions | undefined>();
    expectTypeOf<cnode.CNode['stop']>().parameter(0).toEqualTypeOf<StopOptions | undefined>();
    expectTypeOf<cnode.CNode['kill']>().returns.resolves.toEqualTypeOf<ExitInfo>();
    expectTypeOf<CNodeEvents['exit']>().toEqualTypeOf<[info: ExitInfo]>();
    expectTypeOf<cnode.CNodeError['code']>().toEqualTypeOf<CNodeErrorCode>();
    expectTypeOf<CNodeErrorFields>().toHaveProperty('exitCode');
  });
});
