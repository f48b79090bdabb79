export type { AttachOptions } from './attach-options.js';
export { type CallOptions, CNode, type CNodeEvents, type SendOptions, type StopOptions } from './cnode.js';
export {
  type Caller,
  type Client,
  type Contract,
  defineContract,
  type Operation,
  type Operations,
  type OptionsOf,
  type RequestOf,
  type ResponseOf,
  t,
  typed,
} from './contract/index.js';
/** The contract's type vocabulary, for naming a type in your own code: `ContractTypes.Struct<...>`. */
export type * as ContractTypes from './contract/types.js';
export { CNodeError, type CNodeErrorCode, type CNodeErrorFields, type ExitInfo, isAbnormal } from './errors.js';
export type { CallMessage, NodeExitMessage, NodeStartMessage } from './observe/channels.js';
export type { ByteCounts, ErrorCounts, NodeStats } from './observe/stats.js';
export type { CNodeOptions, HeartbeatOptions } from './options.js';
export type { PoolOptions } from './pool/options.js';
export {
  CNodePool,
  type PoolCallOptions,
  type PoolEvents,
  type PoolSendOptions,
  type PoolStopOptions,
} from './pool/pool.js';
export type { PoolStats, TimeSummary } from './pool/stats.js';
export { MAX_SHARED_BYTES, SharedBuffer } from './shared-buffer.js';
export {
  type BackoffOptions,
  type ChildCallOptions,
  type ChildEvents,
  type ChildHandle,
  type ChildSendOptions,
  type ChildSpec,
  type ChildState,
  type HealthCheckOptions,
  type RestartEvent,
  type RestartPolicy,
  type RestartStrategy,
  type StartErrorEvent,
  Supervisor,
  type SupervisorEvents,
  type SupervisorOptions,
} from './supervision/index.js';
