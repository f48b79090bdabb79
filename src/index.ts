export { type CallOptions, CNode, type CNodeEvents, type SendOptions, type StopOptions } from './cnode.js';
export { CNodeError, type CNodeErrorCode, type CNodeErrorFields, type ExitInfo, isAbnormal } from './errors.js';
export type { CNodeOptions, HeartbeatOptions } from './options.js';
export { MAX_SHARED_BYTES, SharedBuffer } from './shared-buffer.js';
