// Which of the kernel's writes to the wire process leave together. Each write to the pipe wakes the wire
// process, and that costs more than the bytes (about 0.2 ms of CPU a write on the 2-core box the bench ran
// on), so a request's execute_input waits for whatever follows it, and its last outputs, its reply and its
// "done" leave as one write. Outputs of a cell that runs a long synchronous loop still leave one by one,
// as they happen: only hold() keeps a write back, and nothing runs between hold() and done().
export interface Corkable<H> {
  send(head: H, frames?: readonly Uint8Array[]): void;
  cork(): void;
  uncork(): void;
}

export class Outbox<H> {
  /** hold() was called: writes wait for done() */
  private held = false;
  /** sendSoon() wrote into the cork: the next write, done() or the end of this turn releases it */
  private soon = false;

  constructor(
    private readonly pipe: Corkable<H>,
    private readonly later: (f: () => void) => void = (f) => setImmediate(() => setImmediate(f)),
  ) {}

  send(head: H, frames?: readonly Uint8Array[]): void {
    this.pipe.send(head, frames);
    if (this.soon && !this.held) this.release();
  }

  /**
   * Writes a message that need not leave on its own. It leaves with the next write, or with done(), or
   * once the event loop has turned twice (the cell's synchronous start runs in the first turn), so a
   * cell that never yields delays it at most until it yields or prints.
   */
  sendSoon(head: H, frames?: readonly Uint8Array[]): void {
    this.pipe.cork();
    this.pipe.send(head, frames);
    if (this.soon) return;
    this.soon = true;
    this.later(() => {
      if (this.soon && !this.held) this.release();
    });
  }

  /** Writes from now on wait for done(); the caller runs no user code until then. */
  hold(): void {
    this.held = true;
    this.pipe.cork();
  }

  /** Writes `head` (the end of a request) and everything held before it, in one write. */
  done(head: H): void {
    this.pipe.send(head);
    this.held = false;
    this.release();
  }

  private release(): void {
    this.soon = false;
    this.pipe.uncork();
  }
}
