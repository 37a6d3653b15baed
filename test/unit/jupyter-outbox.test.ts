// Outbox (kernel/jupyter/outbox.ts): which writes to the wire process leave together. A recording pipe
// stands in for the real one (corked writes are buffered until uncork, as net.Socket does).
import { describe, expect, it } from "vitest";
import { Outbox, type Corkable } from "../../kernel/jupyter/outbox.js";

/** Records each flush to the "wire" as the list of heads that left together. */
class RecordingPipe implements Corkable<string> {
  readonly flushes: string[][] = [];
  private buffered: string[] = [];
  private corked = false;
  send(head: string): void {
    if (this.corked) this.buffered.push(head);
    else this.flushes.push([head]);
  }
  cork(): void {
    this.corked = true;
  }
  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    if (this.buffered.length) this.flushes.push(this.buffered.splice(0));
  }
}

function setup() {
  const pipe = new RecordingPipe();
  const timers: (() => void)[] = [];
  return { pipe, timers, out: new Outbox(pipe, (f) => timers.push(f)) };
}

describe("Outbox", () => {
  it("a quick cell: execute_input, result, reply and done leave in one write", () => {
    const { pipe, out } = setup();
    out.sendSoon("execute_input");
    out.hold();
    out.send("execute_result");
    out.send("execute_reply");
    out.done("done");
    expect(pipe.flushes).toEqual([["execute_input", "execute_result", "execute_reply", "done"]]);
  });

  it("a cell that prints: execute_input leaves with the first output, later outputs leave one by one", () => {
    const { pipe, out } = setup();
    out.sendSoon("execute_input");
    out.send("stream 1");
    out.send("stream 2");
    expect(pipe.flushes).toEqual([["execute_input", "stream 1"], ["stream 2"]]);
  });

  it("a cell that runs on without output: execute_input leaves when the loop has turned", () => {
    const { pipe, timers, out } = setup();
    out.sendSoon("execute_input");
    expect(pipe.flushes).toEqual([]);
    timers.shift()!();
    expect(pipe.flushes).toEqual([["execute_input"]]);
    out.send("stream");
    expect(pipe.flushes).toEqual([["execute_input"], ["stream"]]);
  });

  it("a held reply is not released by the timer or by more writes, only by done", () => {
    const { pipe, timers, out } = setup();
    out.sendSoon("execute_input");
    out.hold();
    timers.shift()!();
    out.send("error");
    out.send("barrier");
    out.send("execute_reply");
    expect(pipe.flushes).toEqual([]);
    out.done("done");
    expect(pipe.flushes).toEqual([["execute_input", "error", "barrier", "execute_reply", "done"]]);
  });

  it("a request without a cell (complete_request): the reply and done leave together", () => {
    const { pipe, out } = setup();
    out.hold();
    out.send("complete_reply");
    out.done("done");
    out.send("kernel-info");
    expect(pipe.flushes).toEqual([["complete_reply", "done"], ["kernel-info"]]);
  });
});
