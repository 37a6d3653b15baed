// A flood of interrupt_request messages (what JupyterLab's Stop sends, interrupt_mode "message") against a
// real kernel process while it runs short cells: the kernel must stay up, keep its variables, answer the
// next cell, and still stop a busy loop with one interrupt afterwards. bench/sigint-flood.mjs
// --via interrupt_request runs the longer version and counts survivals.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKernel, type Msg, type RunningKernel } from "./kernel-harness.js";

const FLOOD = Number(process.env.MLX_TS_FLOOD_INTERRUPTS ?? 150);
const CELLS = [
  "let a = 0; for (let i = 0; i < 2e5; i++) a += i; a",
  "await new Promise((r) => setTimeout(r, 2)); let b = 0; for (let i = 0; i < 2e5; i++) b += i; b",
  "1+1",
];
let kernel: RunningKernel;

const text = (iopub: Msg[]) => String((iopub.find((m) => m.header.msg_type === "execute_result")?.content.data as Record<string, string> | undefined)?.["text/plain"] ?? "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  kernel = await startKernel();
  const { reply } = await kernel.client.execute("let survivor = 41");
  expect(reply.content.status).toBe("ok");
}, 300_000);

afterAll(async () => {
  await kernel?.stop();
});

describe("interrupt_request flood", () => {
  it(`${FLOOD} interrupt_requests about 10 ms apart while cells run: the kernel lives, answers and keeps its variables`, async () => {
    const c = kernel.client;
    let sent = 0;
    let flooding = true;
    const flood = (async () => {
      for (; sent < FLOOD; sent++) {
        await c.request("control", "interrupt_request");
        await sleep(10);
      }
      flooding = false;
    })();
    const outcomes = { ok: 0, interrupted: 0, other: [] as string[] };
    for (let k = 0; flooding; k++) {
      const { reply } = await c.execute(CELLS[k % CELLS.length]!, { store_history: false }, 60_000);
      if (reply.content.status === "ok") outcomes.ok++;
      else if (reply.content.ename === "InterruptError") outcomes.interrupted++;
      else outcomes.other.push(`${String(reply.content.ename)}: ${String(reply.content.evalue)}`);
    }
    await flood;
    expect(sent).toBe(FLOOD);
    expect(outcomes.other).toEqual([]);
    expect(outcomes.ok + outcomes.interrupted).toBeGreaterThan(0);
    // every interrupt_request got its reply: the control channel kept up
    await c.waitFor("control", () => c.received.control.filter((m) => m.header.msg_type === "interrupt_reply").length >= FLOOD, 30_000);
    expect(kernel.proc.exitCode).toBeNull();
    expect(kernel.proc.signalCode).toBeNull();
    // a request still in flight at the end may have been interrupted too; the next one must answer
    await sleep(500);
    const after = await c.execute("survivor + 1", {}, 30_000);
    expect(after.reply.content.status, JSON.stringify(after.reply.content)).toBe("ok");
    expect(text(after.iopub)).toBe("42");
    expect(await c.ping("still there")).toBe("still there");
  }, 300_000);

  it("after the flood one interrupt still stops a busy loop, and the variables survive it", async () => {
    const c = kernel.client;
    const id = await c.request("shell", "execute_request", { code: "clearOutput(); while (true) {}", silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: false });
    await c.waitFor("iopub", (m) => m.parent_header.msg_id === id && m.header.msg_type === "clear_output", 60_000);
    await c.reply("control", await c.request("control", "interrupt_request"));
    const reply = await c.reply("shell", id, 30_000);
    expect(reply.content.ename).toBe("InterruptError");
    const after = await c.execute("survivor", {}, 30_000);
    expect(text(after.iopub)).toBe("41");
  }, 120_000);
});
