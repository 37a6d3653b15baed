// Kernel process lifecycle: ipc transport, shutdown while a cell spins, no orphaned wire process.
import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { startKernel, type RunningKernel } from "./kernel-harness.js";

let k: RunningKernel | undefined;
afterEach(async () => {
  await k?.stop();
  k = undefined;
});

const exited = (kk: RunningKernel) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    kk.proc.exitCode !== null || kk.proc.signalCode !== null ? res({ code: kk.proc.exitCode, signal: kk.proc.signalCode }) : kk.proc.once("exit", (code, signal) => res({ code, signal })),
  );

function children(pid: number): number[] {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").map((l) => Number(l.trim())).filter((n) => n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("kernel lifecycle", () => {
  it("serves over the ipc transport", async () => {
    k = await startKernel({}, "ipc");
    const { reply, iopub } = await k.client.execute('console.log("over ipc"); 2 * 21');
    expect(reply.content.status).toBe("ok");
    expect(iopub.some((m) => m.header.msg_type === "stream" && m.content.text === "over ipc\n")).toBe(true);
    expect(await k.client.ping("hb over ipc")).toBe("hb over ipc");
  });

  it("shutdown_request while a cell spins: the reply still comes and the process goes away", async () => {
    k = await startKernel();
    const loop = await k.client.request("shell", "execute_request", { code: 'console.log("spinning"); while (true) {}', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: false });
    await k.client.waitFor("iopub", (m) => m.parent_header.msg_id === loop && m.header.msg_type === "stream");
    const id = await k.client.request("control", "shutdown_request", { restart: false });
    expect((await k.client.reply("control", id)).content).toMatchObject({ status: "ok", restart: false });
    const end = await exited(k);
    expect(end.code !== null || end.signal !== null).toBe(true);
  });

  it("a killed kernel leaves no wire process behind", async () => {
    k = await startKernel();
    const wire = children(k.proc.pid!);
    expect(wire.length).toBeGreaterThan(0);
    k.proc.kill("SIGKILL");
    await exited(k);
    for (let i = 0; i < 100 && wire.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(wire.filter(alive)).toEqual([]);
  });
});
