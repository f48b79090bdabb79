import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeRing } from './connection/ring.js';

/** The addon built from addon/ by `npm install` (cmake-js). */
interface Addon {
  /** Collects an exited child: its exit status, null while it runs, undefined when it is not our child. */
  reap(pid: number): { exitCode: number | null; signal: number | null } | null | undefined;
  /** The descriptors of the libuv poll handles on this thread's event loop. */
  pollDescriptors(): number[];
  /** Whether the poll handles on these descriptors keep this thread's event loop alive. */
  setPollRef(fds: number[], ref: boolean): void;
  /** The process groups to kill and reap if this thread is torn down without its exit hooks (terminate()). */
  terminateGroups(pgids: number[]): void;
  /** The owner's end of a ring transport: rings of `capacity` bytes each way, parts up to `maxPartBytes`. */
  Ring: new (
    capacity: number,
    maxPartBytes: number,
  ) => NativeRing;
}

const addonPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'build', 'addon', 'cnode.node');
let addon: Addon | undefined;

/** Loads the addon on first use, with a message that says how to get it when it is missing. */
export function native(): Addon {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)(addonPath) as Addon;
    } catch (error) {
      throw new Error(
        `cnode's addon could not be loaded from ${addonPath}: run \`npm install\` in the cnode package to build it (${(error as Error).message})`,
      );
    }
  }
  return addon;
}
