export { type CallOptions, CNode, type CNodeEvents, type SendOptions, type StopOptions } from './cnode.js';
export { CNodeError, type CNodeErrorCode, type CNodeErrorFields, type ExitInfo, isAbnormal } from './errors.js';
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
