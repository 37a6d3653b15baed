// Shell requests beyond execute, stdin round trips, and history that outlives a kernel — over real sockets.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKernel, type RunningKernel } from "./kernel-harness.js";

const historyFile = join(mkdtempSync(join(tmpdir(), "mlx-ts-hist-")), "history.jsonl");
let k: RunningKernel;

beforeAll(async () => {
  k = await startKernel({ MLX_TS_HISTORY_FILE: historyFile });
});
afterAll(async () => {
  await k?.stop();
});

describe("shell requests", () => {
  it("complete_request: matches with cursor_start/cursor_end in the reply", async () => {
    await k.client.execute("const zebraQuagga = 1");
    const code = "zebraQ";
    const id = await k.client.request("shell", "complete_request", { code, cursor_pos: code.length });
    const r = await k.client.reply("shell", id);
    expect(r.content.status).toBe("ok");
    expect(r.content.matches).toContain("zebraQuagga");
    expect(r.content.cursor_start).toBe(0);
    expect(r.content.cursor_end).toBe(code.length);
  });

  it("inspect_request: found with a text/plain bundle", async () => {
    const code = "Math.max";
    const id = await k.client.request("shell", "inspect_request", { code, cursor_pos: code.length, detail_level: 0 });
    const r = await k.client.reply("shell", id);
    expect(r.content).toMatchObject({ status: "ok", found: true });
    expect(Object.keys(r.content.data as object)).toContain("text/plain");
  });

  it("is_complete_request: complete, incomplete with an indent, invalid", async () => {
    const ask = async (code: string) => (await k.client.reply("shell", await k.client.request("shell", "is_complete_request", { code }))).content;
    expect((await ask("1 + 1")).status).toBe("complete");
    const inc = await ask("function f() {");
    expect(inc.status).toBe("incomplete");
    expect(typeof inc.indent).toBe("string");
    expect((await ask("}")).status).toBe("invalid");
  });

  it("`name?` answers with a page payload and runs nothing", async () => {
    const { reply, iopub } = await k.client.execute("Math.max?");
    expect(reply.content.status).toBe("ok");
    const payload = reply.content.payload as { source: string; data: Record<string, string> }[];
    expect(payload).toHaveLength(1);
    expect(payload[0]!.source).toBe("page");
    expect(payload[0]!.data["text/plain"]).toBeTruthy();
    expect(iopub.map((m) => m.header.msg_type)).toEqual(["status", "status"]);
  });

  it("display with an id, then update_display_data for the same id", async () => {
    const { reply, iopub } = await k.client.execute('const h = display.text("first"); await h.update("second")');
    expect(reply.content.status).toBe("ok");
    const shown = iopub.find((m) => m.header.msg_type === "display_data")!;
    const updated = iopub.find((m) => m.header.msg_type === "update_display_data")!;
    const id = (shown.content.transient as { display_id: string }).display_id;
    expect(id).toBeTruthy();
    expect((updated.content.transient as { display_id: string }).display_id).toBe(id);
    expect(String((updated.content.data as Record<string, string>)["text/plain"])).toContain("second");
  });

  it("clearOutput() sends clear_output", async () => {
    const { iopub } = await k.client.execute('console.log("x"); clearOutput({ wait: true })');
    expect(iopub.find((m) => m.header.msg_type === "clear_output")?.content).toEqual({ wait: true });
  });

  it("user_expressions are evaluated after the cell, outside the history count", async () => {
    const { reply } = await k.client.execute("const ue = 20", { user_expressions: { double: "ue * 2", bad: "noSuchName" } });
    const count = reply.content.execution_count as number;
    const ue = reply.content.user_expressions as Record<string, { status: string; data?: Record<string, string>; ename?: string }>;
    expect(ue.double).toMatchObject({ status: "ok", data: { "text/plain": "40" } });
    expect(ue.bad!.status).toBe("error");
    expect((await k.client.execute("1")).reply.content.execution_count).toBe(count + 1);
  });

  it("chalk colours in cells (Jupyter renders ANSI), while console.log of values stays plain", async () => {
    const { reply, iopub } = await k.client.execute('import chalk from "chalk"; console.log(chalk.red("warm"), chalk.level); console.log({ a: 1 })');
    expect(reply.content.status).toBe("ok");
    const out = iopub.filter((m) => m.header.msg_type === "stream").map((m) => String(m.content.text)).join("");
    expect(out).toMatch(/\u001b\[31mwarm\u001b\[39m [1-3]\n/);
    expect(out).toContain("{ a: 1 }");
  });

  it("kernel_info on control is wrapped in busy/idle on iopub", async () => {
    const id = await k.client.request("control", "kernel_info_request");
    expect((await k.client.reply("control", id)).content.implementation).toBe("mlx-ts");
    expect((await k.client.iopubFor(id)).map((m) => m.content.execution_state)).toEqual(["busy", "idle"]);
  });
});

describe("stdin", () => {
  it("input() sends input_request to the client and returns its input_reply", async () => {
    const id = await k.client.request("shell", "execute_request", { code: 'const name = await input("your name? "); `hi ${name}`', silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true });
    const req = await k.client.waitFor("stdin", (m) => m.header.msg_type === "input_request" && m.parent_header.msg_id === id);
    expect(req.content).toMatchObject({ prompt: "your name? ", password: false });
    const { frames } = k.client.frames("input_reply", { value: "Ada" });
    await k.client.sendRaw("stdin", frames);
    expect((await k.client.reply("shell", id)).content.status).toBe("ok");
    const result = (await k.client.iopubFor(id)).find((m) => m.header.msg_type === "execute_result");
    expect(String((result!.content.data as Record<string, string>)["text/plain"])).toContain("hi Ada");
  });

  it("input() fails with a clear error when the client does not allow stdin", async () => {
    const { reply } = await k.client.execute('await input("x")', { allow_stdin: false });
    expect(reply.content.status).toBe("error");
    expect(String(reply.content.evalue)).toContain("allow_stdin is false");
  });
});

describe("history", () => {
  it("survives a restart: a new kernel on the same history file sees the old inputs", async () => {
    await k.client.execute("const rememberedAcrossRestarts = 1");
    const id = await k.client.request("control", "shutdown_request", { restart: true });
    expect((await k.client.reply("control", id)).content).toMatchObject({ status: "ok", restart: true });
    await new Promise((r) => (k.proc.exitCode !== null ? r(null) : k.proc.once("exit", r)));
    await k.stop();
    k = await startKernel({ MLX_TS_HISTORY_FILE: historyFile });
    const h = await k.client.request("shell", "history_request", { output: false, raw: true, hist_access_type: "search", pattern: "*rememberedAcrossRestarts*", n: 5, unique: true });
    const r = await k.client.reply("shell", h);
    const hist = r.content.history as [number, number, string][];
    expect(hist.map((e) => e[2])).toEqual(["const rememberedAcrossRestarts = 1"]);
  });
});
