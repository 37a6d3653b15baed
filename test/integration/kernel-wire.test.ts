// Wire-level protocol tests: a raw ZeroMQ client against a real kernel process on real sockets.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKernel, type Msg, type RunningKernel } from "./kernel-harness.js";

let k: RunningKernel;
const types = (ms: Msg[]) => ms.map((m) => m.header.msg_type);

beforeAll(async () => {
  k = await startKernel();
});
afterAll(async () => {
  if (process.env.MLX_TS_DEBUG) console.log(k?.stderr(), k?.proc.exitCode, k?.proc.signalCode);
  await k?.stop();
});

/** Sends a good execute after a bad message and returns once it is answered: the shell is in order, so the bad one was handled by then. */
async function nextExecuteWorks(): Promise<void> {
  const { reply, iopub } = await k.client.execute('console.log("still alive")');
  expect(reply.content.status).toBe("ok");
  expect(iopub.some((m) => m.header.msg_type === "stream" && String(m.content.text).includes("still alive"))).toBe(true);
}

/**
 * Starts a cell that spins forever and resolves once it prints from inside the loop's cell, so the
 * interrupt lands on running code (not in the moment between execute_input and the cell's start).
 */
async function startLoop(): Promise<string> {
  const loop = await k.client.request("shell", "execute_request", { code: 'console.log("spinning"); while (true) {}', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false });
  await k.client.waitFor("iopub", (m) => m.parent_header.msg_id === loop && m.header.msg_type === "stream" && m.content.text === "spinning\n");
  return loop;
}

function noReplyTo(msgId: string): void {
  for (const ch of ["shell", "control", "stdin", "iopub"] as const) {
    expect(k.client.received[ch].filter((m) => m.parent_header.msg_id === msgId)).toEqual([]);
  }
}

describe("kernel wire protocol", () => {
  it("answers kernel_info on shell with protocol 5.4 and TypeScript language info, between busy and idle", async () => {
    const id = await k.client.request("shell", "kernel_info_request");
    const reply = await k.client.reply("shell", id);
    expect(reply.header.msg_type).toBe("kernel_info_reply");
    expect(reply.content).toMatchObject({ status: "ok", protocol_version: "5.4", implementation: "mlx-ts" });
    expect(reply.content.language_info).toMatchObject({ name: "typescript", file_extension: ".ts", mimetype: "text/typescript" });
    expect(typeof reply.content.banner).toBe("string");
    const io = await k.client.iopubFor(id);
    expect(io.map((m) => m.content.execution_state)).toEqual(["busy", "idle"]);
  });

  it("executes a cell: busy, execute_input, stream, execute_result, reply, idle", async () => {
    const { reply, iopub } = await k.client.execute('console.log("hello, world"); 6 * 7');
    expect(reply.content.status).toBe("ok");
    expect(types(iopub)).toEqual(["status", "execute_input", "stream", "execute_result", "status"]);
    expect(iopub[2]!.content).toMatchObject({ name: "stdout", text: "hello, world\n" });
    expect(iopub[3]!.content.data).toMatchObject({ "text/plain": "42" });
    expect(iopub[3]!.content.execution_count).toBe(reply.content.execution_count);
    expect(iopub[1]!.content.execution_count).toBe(reply.content.execution_count);
  });

  it("drops an execute_request with a wrong signature without running it", async () => {
    const target = join(mkdtempSync(join(tmpdir(), "mlx-ts-wire-")), "pwned.txt");
    const code = `require("node:fs").writeFileSync(${JSON.stringify(target)}, "x")`;
    const { msgId, frames } = k.client.frames("execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false }, { signature: "0".repeat(64) });
    await k.client.sendRaw("shell", frames);
    await nextExecuteWorks();
    expect(existsSync(target)).toBe(false);
    noReplyTo(msgId);
    expect(k.stderr()).toContain("invalid signature");
  });

  it("drops a message signed with another key", async () => {
    const { msgId, frames } = k.client.frames("kernel_info_request", {});
    frames[1] = Buffer.from(k.client.sign(frames.slice(2, 6), "not-the-key"));
    await k.client.sendRaw("control", frames);
    await nextExecuteWorks();
    noReplyTo(msgId);
  });

  it("drops a message with an empty signature", async () => {
    const { msgId, frames } = k.client.frames("kernel_info_request", {}, { signature: "" });
    await k.client.sendRaw("shell", frames);
    await nextExecuteWorks();
    noReplyTo(msgId);
    expect(k.stderr()).toContain("missing signature");
  });

  it("drops a truncated multipart message", async () => {
    const { msgId, frames } = k.client.frames("kernel_info_request", {});
    await k.client.sendRaw("shell", frames.slice(0, 4));
    await nextExecuteWorks();
    noReplyTo(msgId);
    expect(k.stderr()).toContain("truncated message");
  });

  it("drops a message whose content is not JSON", async () => {
    const { msgId, frames } = k.client.frames("execute_request", {});
    frames[5] = Buffer.from("{not json");
    frames[1] = Buffer.from(k.client.sign(frames.slice(2, 6)));
    await k.client.sendRaw("shell", frames);
    await nextExecuteWorks();
    noReplyTo(msgId);
    expect(k.stderr()).toContain("invalid JSON");
  });

  it("drops a message whose header lacks msg_type", async () => {
    const header = { msg_id: "no-type-1", session: k.client.session, username: "test", date: new Date().toISOString(), version: "5.4" };
    const { msgId, frames } = k.client.frames("ignored", {}, { header });
    await k.client.sendRaw("shell", frames);
    await nextExecuteWorks();
    noReplyTo(msgId);
    expect(k.stderr()).toContain('header field "msg_type" missing');
  });

  it("drops a replayed message", async () => {
    const { msgId, frames } = k.client.frames("kernel_info_request", {});
    await k.client.sendRaw("shell", frames);
    await k.client.reply("shell", msgId);
    await k.client.sendRaw("shell", frames);
    await nextExecuteWorks();
    expect(k.client.received.shell.filter((m) => m.parent_header.msg_id === msgId)).toHaveLength(1);
    expect(k.stderr()).toContain("duplicate signature");
  });

  it("ignores an unknown shell msg_type (busy/idle, no reply), as ipykernel does", async () => {
    const id = await k.client.request("shell", "frobnicate_request", {});
    const io = await k.client.iopubFor(id);
    expect(io.map((m) => m.content.execution_state)).toEqual(["busy", "idle"]);
    await nextExecuteWorks();
    expect(k.client.received.shell.filter((m) => m.parent_header.msg_id === id)).toEqual([]);
  });

  it("survives a 50 MB content frame, signed or not", async () => {
    const padding = "x".repeat(50 * 1024 * 1024);
    const bad = k.client.frames("kernel_info_request", { padding }, { signature: "f".repeat(64) });
    await k.client.sendRaw("shell", bad.frames);
    const good = k.client.frames("kernel_info_request", { padding });
    await k.client.sendRaw("shell", good.frames);
    const reply = await k.client.reply("shell", good.msgId, 60_000);
    expect(reply.content.status).toBe("ok");
    await nextExecuteWorks();
    noReplyTo(bad.msgId);
  });

  it("20 000 printed lines arrive complete, in order, merged into few messages, and the cell ends idle", async () => {
    const { reply, iopub } = await k.client.execute("for (let i = 0; i < 20000; i++) console.log(i)", {}, 120_000);
    expect(reply.content.status).toBe("ok");
    const streams = iopub.filter((m) => m.header.msg_type === "stream");
    expect(streams.map((m) => m.content.text).join("")).toBe(Array.from({ length: 20000 }, (_, i) => `${i}\n`).join(""));
    expect(streams.length).toBeLessThan(20000);
  });

  it("store_history false: execute_input and reply carry the unchanged count", async () => {
    const before = (await k.client.execute("1")).reply.content.execution_count as number;
    const { reply, iopub } = await k.client.execute("2", { store_history: false });
    expect(reply.content.execution_count).toBe(before);
    expect(iopub.find((m) => m.header.msg_type === "execute_input")?.content.execution_count).toBe(before);
  });

  it("silent execution: no execute_input, no result, count unchanged", async () => {
    const before = await k.client.execute("1");
    const count = before.reply.content.execution_count as number;
    const { reply, iopub } = await k.client.execute("2 + 2", { silent: true, store_history: false });
    expect(reply.content.status).toBe("ok");
    expect(types(iopub)).toEqual(["status", "status"]);
    const after = await k.client.execute("3");
    expect(after.reply.content.execution_count).toBe(count + 1);
  });

  it("stop_on_error aborts the execute requests queued behind a failing one", async () => {
    const first = await k.client.request("shell", "execute_request", { code: 'throw new Error("boom")', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    const second = await k.client.request("shell", "execute_request", { code: "1", silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    const third = await k.client.request("shell", "execute_request", { code: "2", silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    const r1 = await k.client.reply("shell", first);
    expect(r1.content).toMatchObject({ status: "error", evalue: "boom" });
    expect((await k.client.iopubFor(first)).some((m) => m.header.msg_type === "error")).toBe(true);
    expect((await k.client.reply("shell", second)).content.status).toBe("aborted");
    expect((await k.client.reply("shell", third)).content.status).toBe("aborted");
    await nextExecuteWorks();
  });

  it("comm_open for an unknown target is answered with comm_close; comm_info lists no comms", async () => {
    const id = await k.client.request("shell", "comm_open", { comm_id: "c-1", target_name: "no.such.target", data: {} });
    const io = await k.client.iopubFor(id);
    expect(io.find((m) => m.header.msg_type === "comm_close")?.content).toMatchObject({ comm_id: "c-1" });
    const info = await k.client.request("shell", "comm_info_request", {});
    expect((await k.client.reply("shell", info)).content).toMatchObject({ status: "ok", comms: {} });
  });

  it("history tail returns the last inputs", async () => {
    await k.client.execute("var h1 = 'first'");
    await k.client.execute("var h2 = 'second'");
    const id = await k.client.request("shell", "history_request", { output: false, raw: true, hist_access_type: "tail", n: 2 });
    const reply = await k.client.reply("shell", id);
    const hist = reply.content.history as [number, number, string][];
    expect(hist.map((h) => h[2])).toEqual(["var h1 = 'first'", "var h2 = 'second'"]);
  });

  it("heartbeat and control answer during while(true){}; interrupt stops it and state survives", async () => {
    await k.client.execute("var kept = 41");
    const loop = await startLoop();
    expect(await k.client.ping("are you there")).toBe("are you there");
    const info = await k.client.request("control", "kernel_info_request");
    expect((await k.client.reply("control", info)).content.protocol_version).toBe("5.4");
    const intr = await k.client.request("control", "interrupt_request");
    expect((await k.client.reply("control", intr)).content.status).toBe("ok");
    const loopReply = await k.client.reply("shell", loop);
    expect(loopReply.content.status).toBe("error");
    const { reply, iopub } = await k.client.execute("kept + 1");
    expect(reply.content.status).toBe("ok");
    expect(iopub.find((m) => m.header.msg_type === "execute_result")?.content.data).toMatchObject({ "text/plain": "42" });
  });

  it("a real SIGINT (Jupyter's signal interrupt) stops a busy loop the same way", async () => {
    const loop = await startLoop();
    expect(await k.client.ping()).toBe("ping");
    k.proc.kill("SIGINT");
    expect((await k.client.reply("shell", loop)).content.status).toBe("error");
    await nextExecuteWorks();
    expect(k.proc.exitCode).toBeNull();
  });

  it("interrupt_request rejects a pending await; the next cell runs", async () => {
    const id = await k.client.request("shell", "execute_request", { code: 'console.log("waiting"); await new Promise(() => {})', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false });
    await k.client.waitFor("iopub", (m) => m.parent_header.msg_id === id && m.header.msg_type === "stream");
    await k.client.reply("control", await k.client.request("control", "interrupt_request"));
    expect((await k.client.reply("shell", id)).content.status).toBe("error");
    await nextExecuteWorks();
  });

  it("interrupt_request ends a cell waiting in input()", async () => {
    const id = await k.client.request("shell", "execute_request", { code: 'await input("never answered: ")', silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: false });
    await k.client.waitFor("stdin", (m) => m.parent_header.msg_id === id && m.header.msg_type === "input_request");
    await k.client.reply("control", await k.client.request("control", "interrupt_request"));
    expect((await k.client.reply("shell", id)).content.status).toBe("error");
    await nextExecuteWorks();
  });

  it("shutdown_request on control replies, broadcasts, and the process exits cleanly", async () => {
    const id = await k.client.request("control", "shutdown_request", { restart: false });
    const reply = await k.client.reply("control", id);
    expect(reply.content).toMatchObject({ status: "ok", restart: false });
    await k.client.waitFor("iopub", (m) => m.parent_header.msg_id === id && m.header.msg_type === "shutdown_reply");
    const code = await new Promise<number | null>((res) => (k.proc.exitCode !== null ? res(k.proc.exitCode) : k.proc.once("exit", (c) => res(c))));
    expect(code).toBe(0);
  });
});
