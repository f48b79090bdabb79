export { CNode, type CallOptions, type SendOptions, type StopOptions, type CNodeEvents } from './cnode.js';
export { CNodeError, type CNodeErrorCode, type CNodeErrorFields, type ExitInfo, isAbnormal } from './errors.js';
export type { CNodeOptions, HeartbeatOptions } from './options.js';
export { SharedBuffer, MAX_SHARED_BYTES } from './shared-buffer.js';
