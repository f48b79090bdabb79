// What a user imports: every public value and every type that appears in the public API.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  AttachOptions,
  BackoffOptions,
  ByteCounts,
  Caller,
  CallMessage,
  CallOptions,
  ChildCallOptions,
  ChildEvents,
  ChildHandle,
  ChildSendOptions,
  ChildSpec,
  ChildState,
  Client,
  CNodeErrorCode,
  CNodeErrorFields,
  CNodeEvents,
  CNodeOptions,
  Contract,
  ContractTypes,
  ErrorCounts,
  ExitInfo,
  HealthCheckOptions,
  HeartbeatOptions,
  NodeExitMessage,
  NodeStartMessage,
  NodeStats,
  Operation,
  Operations,
  OptionsOf,
  PoolCallOptions,
  PoolEvents,
  PoolOptions,
  PoolSendOptions,
  PoolStats,
  PoolStopOptions,
  RequestOf,
  ResponseOf,
  RestartEvent,
  RestartPolicy,
  RestartStrategy,
  SendOptions,
  StartErrorEvent,
  StopOptions,
  SupervisorEvents,
  SupervisorOptions,
  TimeSummary,
} from '../src/index.js';
import * as cnode from '../src/index.js';

describe('the package index', () => {
  it('exports the classes and constants', () => {
    expect(Object.keys(cnode).sort()).toEqual([
      'CNode',
      'CNodeError',
      'CNodePool',
      'MAX_SHARED_BYTES',
      'SharedBuffer',
      'Supervisor',
      'defineContract',
      'isAbnormal',
      't',
      'typed',
    ]);
  });

  it("exports the types of every method's parameters and results", () => {
    expectTypeOf(cnode.CNode.start).parameter(0).toEqualTypeOf<CNodeOptions>();
    expectTypeOf<Exclude<NonNullable<CNodeOptions['heartbeat']>, false>>().toMatchTypeOf<Partial<HeartbeatOptions>>();
    expectTypeOf(cnode.CNode.attach).parameter(0).toEqualTypeOf<AttachOptions>();
    expectTypeOf(cnode.CNode.attach).returns.resolves.toEqualTypeOf<cnode.CNode>();
    expectTypeOf<cnode.CNode['call']>().parameter(1).toEqualTypeOf<CallOptions | undefined>();
    expectTypeOf<cnode.CNode['send']>().parameter(1).toEqualTypeOf<SendOptions | undefined>();
    expectTypeOf<cnode.CNode['stop']>().parameter(0).toEqualTypeOf<StopOptions | undefined>();
    expectTypeOf<cnode.CNode['kill']>().returns.resolves.toEqualTypeOf<ExitInfo>();
    expectTypeOf<CNodeEvents['exit']>().toEqualTypeOf<[info: ExitInfo]>();
    expectTypeOf<cnode.CNodeError['code']>().toEqualTypeOf<CNodeErrorCode>();
    expectTypeOf<CNodeErrorFields>().toHaveProperty('exitCode');
    expectTypeOf(cnode.CNodePool.start).parameter(0).toEqualTypeOf<PoolOptions>();
    // A pool's exec, bind and advertise may also be functions of the worker's slot.
    expectTypeOf<Omit<PoolOptions, 'exec' | 'bind' | 'advertise'>>().toMatchTypeOf<
      Omit<CNodeOptions, 'exec' | 'bind' | 'advertise'>
    >();
    expectTypeOf<PoolOptions['exec']>().toEqualTypeOf<
      CNodeOptions['exec'] | ((slot: number) => CNodeOptions['exec']) | undefined
    >();
    expectTypeOf<cnode.CNodePool['call']>().parameter(1).toEqualTypeOf<PoolCallOptions | undefined>();
    expectTypeOf<cnode.CNodePool['send']>().parameter(1).toEqualTypeOf<PoolSendOptions | undefined>();
    expectTypeOf<cnode.CNodePool['stop']>().parameter(0).toEqualTypeOf<PoolStopOptions | undefined>();
    expectTypeOf<cnode.CNodePool['stats']>().returns.toEqualTypeOf<PoolStats>();
    expectTypeOf<PoolEvents['message']>().toEqualTypeOf<[message: unknown, worker: cnode.CNode]>();
    expectTypeOf(cnode.Supervisor.start).parameter(0).toEqualTypeOf<SupervisorOptions>();
    expectTypeOf<ChildSpec>().toMatchTypeOf<CNodeOptions>();
    expectTypeOf<ChildSpec['restart']>().toEqualTypeOf<RestartPolicy | undefined>();
    expectTypeOf<ChildSpec['healthCheck']>().toEqualTypeOf<HealthCheckOptions | undefined>();
    expectTypeOf<SupervisorOptions['strategy']>().toEqualTypeOf<RestartStrategy | undefined>();
    expectTypeOf<NonNullable<SupervisorOptions['backoff']>>().toEqualTypeOf<BackoffOptions>();
    expectTypeOf<cnode.Supervisor['child']>().returns.toEqualTypeOf<ChildHandle>();
    expectTypeOf<ChildHandle['call']>().parameter(1).toEqualTypeOf<ChildCallOptions | undefined>();
    expectTypeOf<ChildHandle['send']>().parameter(1).toEqualTypeOf<ChildSendOptions | undefined>();
    expectTypeOf<ChildHandle['state']>().toEqualTypeOf<ChildState>();
    expectTypeOf<ChildEvents['message']>().toEqualTypeOf<[message: unknown, creation: number]>();
    expectTypeOf<SupervisorEvents['restart']>().toEqualTypeOf<[event: RestartEvent]>();
    expectTypeOf<SupervisorEvents['startError']>().toEqualTypeOf<[event: StartErrorEvent]>();
    // Observability: stats() and the diagnostics channels' messages.
    expectTypeOf<cnode.CNode['stats']>().returns.toEqualTypeOf<NodeStats>();
    expectTypeOf<NodeStats['errors']>().toEqualTypeOf<ErrorCounts>();
    expectTypeOf<NodeStats['bytes']>().toEqualTypeOf<ByteCounts>();
    expectTypeOf<NodeStats['latency']>().toEqualTypeOf<TimeSummary>();
    expectTypeOf<PoolStats['errors']>().toEqualTypeOf<ErrorCounts>();
    expectTypeOf<PoolStats['bytes']>().toEqualTypeOf<ByteCounts>();
    expectTypeOf<NodeStartMessage['node']>().toEqualTypeOf<cnode.CNode>();
    expectTypeOf<NodeExitMessage['info']>().toEqualTypeOf<ExitInfo>();
    expectTypeOf<CallMessage['error']>().toEqualTypeOf<cnode.CNodeError | undefined>();
    // The typed contract: what defineContract() and typed() take and give.
    expectTypeOf(cnode.defineContract).returns.toMatchTypeOf<Contract<Operations>>();
    expectTypeOf<Operations[string]>().toEqualTypeOf<Operation>();
    expectTypeOf<cnode.CNode>().toMatchTypeOf<Caller>();
    expectTypeOf<cnode.CNodePool>().toMatchTypeOf<Caller>();
    expectTypeOf<OptionsOf<cnode.CNodePool>>().toEqualTypeOf<PoolCallOptions>();
    expectTypeOf(cnode.t.i64).toEqualTypeOf<ContractTypes.I64>();
    expectTypeOf(cnode.t.array(cnode.t.string)).toMatchTypeOf<ContractTypes.Type>();
    const calc = cnode.defineContract('calc', { add: { request: { a: cnode.t.i64 }, response: cnode.t.f64 } });
    type Add = (typeof calc)['operations']['add'];
    expectTypeOf<RequestOf<Add>>().toEqualTypeOf<{ a: number }>();
    expectTypeOf<ResponseOf<Add>>().toEqualTypeOf<number>();
    expectTypeOf(cnode.typed(null as unknown as cnode.CNode, calc)).toEqualTypeOf<
      Client<(typeof calc)['operations'], OptionsOf<cnode.CNode>>
    >();
  });
});
