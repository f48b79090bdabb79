/** Something that can let go of the event loop: a process, a pipe, a connection. */
interface Refable {
  setRef(ref: boolean): void;
}

/**
 * Whether a node keeps its owner's event loop alive. Ref'd, the default, its process, pipes and
 * connection do. Unref'd, they do not, and a timer of its own holds the loop while calls or
 * sends wait, so that an owner with nothing else to do still hears their answers.
 */
export class LoopHold {
  #refed = true;
  #busyHold: NodeJS.Timeout | undefined;

  /** `handles` in order: the first that cannot let go (throws) leaves the rest as they were. */
  constructor(private readonly handles: readonly Refable[]) {}

  get refed(): boolean {
    return this.#refed;
  }

  /** Sets whether the node holds the loop; `busy` is whether calls or sends are waiting. */
  setRef(refed: boolean, busy: boolean): void {
    for (const handle of this.handles) handle.setRef(refed);
    this.#refed = refed;
    this.busyChanged(busy);
  }

  /** Calls or sends began or ended (`busy`: any still wait), or the node exited (false). */
  busyChanged(busy: boolean): void {
    if (this.#refed && !this.#busyHold) return; // the common case, on every call: nothing to do
    const hold = !this.#refed && busy;
    if (hold && !this.#busyHold) this.#busyHold = setInterval(() => {}, 0x7fffffff);
    else if (!hold && this.#busyHold) {
      clearInterval(this.#busyHold);
      this.#busyHold = undefined;
    }
  }
}
