export { CNode, type CallOptions, type StopOptions, type CNodeEvents } from './cnode.js';
export { CNodeError, type CNodeErrorCode, type ExitInfo } from './errors.js';
export type { CNodeOptions } from './options.js';
export { SharedBuffer, MAX_SHARED_BYTES } from './shared-buffer.js';
