// Two front ends on one kernel (a notebook and a console, say): both receive every iopub message, and
// each output carries the parent header of the request that caused it, so each front end can tell its
// own outputs from the other's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, startKernel, type Msg, type RunningKernel } from "./kernel-harness.js";

let kernel: RunningKernel;
let second: RawClient;

beforeAll(async () => {
  kernel = await startKernel();
  second = new RawClient(kernel.client.conn);
  await second.connect();
  await second.ready();
}, 180_000);

afterAll(async () => {
  second?.close();
  await kernel?.stop();
});

const streams = (msgs: Msg[], id: string) =>
  msgs.filter((m) => m.parent_header.msg_id === id && m.header.msg_type === "stream").map((m) => String(m.content.text)).join("");

describe("two clients on one kernel", () => {
  it("both receive iopub, each output with the right parent header", async () => {
    const a = kernel.client;
    const idA = await a.request("shell", "execute_request", { code: 'let shared = "from A"; console.log(shared)', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
    const idB = await second.request("shell", "execute_request", { code: 'console.log(shared + " seen by B")', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
    // each reply goes only to the client that asked
    expect((await a.reply("shell", idA)).content.status).toBe("ok");
    expect((await second.reply("shell", idB)).content.status).toBe("ok");
    expect(a.received.shell.some((m) => m.parent_header.msg_id === idB)).toBe(false);
    expect(second.received.shell.some((m) => m.parent_header.msg_id === idA)).toBe(false);
    // iopub reaches both, with the parent of each request
    for (const c of [a, second]) {
      await c.iopubFor(idA);
      await c.iopubFor(idB);
      expect(streams(c.received.iopub, idA)).toBe("from A\n");
      expect(streams(c.received.iopub, idB)).toBe("from A seen by B\n");
      const inputs = c.received.iopub.filter((m) => m.header.msg_type === "execute_input");
      expect(inputs.find((m) => m.parent_header.msg_id === idA)?.content.code).toContain("from A");
      expect(inputs.find((m) => m.parent_header.msg_id === idB)?.content.code).toContain("seen by B");
      // busy/idle pairs for both requests
      for (const id of [idA, idB]) {
        const states = c.received.iopub.filter((m) => m.parent_header.msg_id === id && m.header.msg_type === "status").map((m) => m.content.execution_state);
        expect(states).toEqual(["busy", "idle"]);
      }
    }
  }, 180_000);

  it("a callback's late output keeps the parent of the cell that scheduled it", async () => {
    const a = kernel.client;
    const idA = await a.request("shell", "execute_request", { code: 'setTimeout(() => console.log("late from A"), 300); "scheduled"', silent: false, store_history: true, user_expressions: {}, allow_stdin: false });
    await a.iopubFor(idA);
    const { reply } = await second.execute("await new Promise((r) => setTimeout(r, 800)); 1", {}, 60_000);
    expect(reply.content.status).toBe("ok");
    await second.waitFor("iopub", (m) => m.header.msg_type === "stream" && String(m.content.text).includes("late from A"), 10_000);
    const late = second.received.iopub.find((m) => m.header.msg_type === "stream" && String(m.content.text).includes("late from A"));
    expect(late?.parent_header.msg_id).toBe(idA);
  }, 180_000);
});
