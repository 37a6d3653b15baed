// Faults a real kernel must survive with the session intact: many interrupts during generations and busy
// loops, a client vanishing mid-stream, a memory limit below what a load needs, a truncated model file,
// a restart during a generation, and a failing write during `%quantize --save` (nothing half-written may
// be left looking complete).
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_MODELS_DIR } from "../setup/fixtures.js";
import { kernelArgv, makeConnection, RawClient, ROOT, startKernel, type Msg, type RunningKernel } from "./kernel-harness.js";

const TINY = join(FIXTURE_MODELS_DIR, "qwen3-tiny-bf16");
const INTERRUPTS = Number(process.env.MLX_TS_FAULT_INTERRUPTS ?? 100);
let kernel: RunningKernel;
let c: RawClient;
let work: string;

const text = (m: Msg | undefined) => String((m?.content.data as Record<string, string> | undefined)?.["text/plain"] ?? "");

async function run(code: string, timeoutMs = 120_000): Promise<{ reply: Msg; iopub: Msg[] }> {
  return c.execute(code, {}, timeoutMs);
}

async function value(code: string): Promise<string> {
  const { reply, iopub } = await run(code);
  expect(reply.content.status, JSON.stringify(reply.content)).toBe("ok");
  return text(iopub.find((m) => m.header.msg_type === "execute_result"));
}

/** interrupts that needed Stop pressed a second time (none may) */
let secondInterrupts = 0;

/** Starts a request, waits until `started` sees it running, interrupts (a second time if the first is lost), and returns its reply. */
async function interruptWhen(code: string, started: (m: Msg, id: string) => boolean): Promise<Msg> {
  const id = await c.request("shell", "execute_request", { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: false });
  await c.waitFor("iopub", (m) => m.parent_header.msg_id === id && started(m, id), 60_000);
  const interrupt = async () => {
    const irq = await c.request("control", "interrupt_request");
    expect((await c.reply("control", irq)).content.status).toBe("ok");
  };
  await interrupt();
  let reply: Msg;
  try {
    reply = await c.reply("shell", id, 10_000);
  } catch {
    secondInterrupts++;
    await interrupt();
    reply = await c.reply("shell", id, 30_000);
  }
  await c.iopubFor(id, 30_000);
  return reply;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "mlx-ts-faults-"));
  kernel = await startKernel({ MLX_TS_HISTORY_FILE: join(work, "history.jsonl") });
  c = kernel.client;
  expect(await value(`%load ${TINY} --as tiny\n"loaded"`)).toContain("loaded");
  expect(await value(`const keep = { cells: 1 }; keep.cells`)).toBe("1");
}, 300_000);

afterAll(async () => {
  await kernel?.stop();
});

describe("faults", () => {
  it(`${INTERRUPTS} interrupts during generations leave the model and variables usable`, async () => {
    for (let i = 0; i < INTERRUPTS; i++) {
      const reply = await interruptWhen(`%%generate --model tiny --max-tokens 100000 --raw --temp 0\nhello ${i}`, (m) =>
        (m.header.msg_type === "display_data" || m.header.msg_type === "update_display_data") && text(m).length > 0);
      expect(["ok", "error"]).toContain(reply.content.status);
    }
    expect(await value("keep.cells")).toBe("1");
    expect(await value(`(await session.generate("after", { model: "tiny", raw: true, maxTokens: 4 })).stats.generatedTokens`)).toBe("4");
  }, 600_000);

  // One Stop must end each loop: in the cell's synchronous start (breakOnSigint) and after an await (the
  // watchdog worker). clearOutput() marks the loop as running: it reaches the front end synchronously.
  for (const [where, prefix] of [["at the start of a cell", ""], ["after an await", "await new Promise((r) => setTimeout(r, 5)); "]] as const) {
    it(`${INTERRUPTS} interrupts during busy loops ${where} end each with one interrupt and keep state`, async () => {
      secondInterrupts = 0;
      for (let i = 0; i < INTERRUPTS; i++) {
        const reply = await interruptWhen(`${prefix}keep.cells = ${i}; clearOutput(); while (true) {}`, (m) => m.header.msg_type === "clear_output");
        expect(reply.content.status).toBe("error");
        expect(reply.content.ename).toBe("InterruptError");
      }
      expect(secondInterrupts).toBe(0);
      expect(await value("keep.cells")).toBe(String(INTERRUPTS - 1));
    }, 600_000);
  }

  it("a client that disconnects mid-stream does not disturb the kernel", async () => {
    expect(await value("keep.cells = 7")).toBe("7");
    const other = new RawClient(c.conn);
    await other.connect();
    await other.ready();
    const id = await other.request("shell", "execute_request", { code: "%%generate --model tiny --max-tokens 64 --raw --temp 0\nbye", silent: false, store_history: false, user_expressions: {}, allow_stdin: false });
    await other.waitFor("iopub", (m) => m.parent_header.msg_id === id && m.header.msg_type === "display_data", 60_000);
    other.close();
    // our client still sees that generation finish on iopub, then runs its own cell
    await c.iopubFor(id, 120_000);
    expect(await value("keep.cells")).toBe("7");
  }, 300_000);

  it("a memory limit below what a load needs gives a clear error and the session goes on", async () => {
    const { reply } = await run(`const eng = await session.engine; const prev = eng.setMemoryLimit(1_000_000);
try { await session.load(${JSON.stringify(TINY)}, { as: "too-big" }); } finally { eng.setMemoryLimit(prev); }`);
    expect(reply.content.status).toBe("error");
    expect(String(reply.content.evalue)).toMatch(/memory/i);
    expect(await value(`[...session.models.keys()].join(",")`)).toBe("'tiny'");
    expect(await value(`(await session.load(${JSON.stringify(TINY)}, { as: "tiny2" })).name`)).toBe("'tiny2'");
  }, 300_000);

  it("a truncated model file gives a clear error and loaded models keep working", async () => {
    const broken = join(work, "truncated");
    cpSync(TINY, broken, { recursive: true });
    const weights = join(broken, "model.safetensors");
    truncateSync(weights, Math.floor(statSync(weights).size / 2));
    const { reply } = await run(`%load ${broken} --as broken`);
    expect(reply.content.status).toBe("error");
    expect(String(reply.content.evalue)).toMatch(/truncat|corrupt|safetensors/i);
    expect(await value(`(await session.generate("still here", { model: "tiny", raw: true, maxTokens: 3 })).stats.generatedTokens`)).toBe("3");
  }, 300_000);

  it("a restart during a generation shuts down cleanly", async () => {
    const id = await c.request("shell", "execute_request", { code: "%%generate --model tiny --max-tokens 100000 --raw\nforever", silent: false, store_history: false, user_expressions: {}, allow_stdin: false });
    await c.waitFor("iopub", (m) => m.parent_header.msg_id === id && m.header.msg_type === "display_data", 60_000);
    const sd = await c.request("control", "shutdown_request", { restart: true });
    const reply = await c.reply("control", sd, 30_000);
    expect(reply.content).toMatchObject({ status: "ok", restart: true });
    // the generation's display ended before the reply: cut off by restart, no live cursor
    const cut = await c.waitFor("iopub", (m) => m.parent_header.msg_id === id && m.header.msg_type === "update_display_data" && text(m).includes("cut off by restart"), 5_000);
    expect(text(cut)).not.toContain("▌");
    const code = await new Promise<number | null>((res) => (kernel.proc.exitCode !== null ? res(kernel.proc.exitCode) : kernel.proc.once("exit", (x) => res(x))));
    expect(code).toBe(0);
  }, 120_000);
});

describe("failing write during %quantize --save", () => {
  it("reports the error and leaves nothing that looks like a complete model", async () => {
    // A file-size limit makes the weights write fail part-way (EFBIG), as a full disk would.
    const dir = mkdtempSync(join(tmpdir(), "mlx-ts-fsize-"));
    const conn = await makeConnection();
    const file = join(dir, "connection.json");
    writeFileSync(file, JSON.stringify(conn));
    const proc = spawn("prlimit", [`--fsize=${4 << 20}`, process.execPath, ...kernelArgv(file)], {
      cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MLX_TS_HISTORY_FILE: join(dir, "history.jsonl") },
    });
    const client = new RawClient(conn);
    try {
      await client.connect();
      await client.ready();
      const out = join(dir, "out-4bit");
      const load = await client.execute(`%load ${TINY} --as tiny`, {}, 300_000);
      expect(load.reply.content.status).toBe("ok");
      const q = await client.execute(`%quantize tiny --bits 8 --as tiny8 --check-tokens 0 --save ${out}`, {}, 300_000);
      expect(q.reply.content.status).toBe("error");
      expect(String(q.reply.content.evalue)).toMatch(/write|save|EFBIG|large|space/i);
      // nothing at the destination, and no stray temp dir next to it that could pass for a model
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith("out-4bit"))).toEqual([]);
      const after = await client.execute("[1 + 1, session.models.has(\"tiny8\")]", {}, 60_000);
      // the copy made for the failed save is not left loaded (a retry would be refused on its name)
      expect(text(after.iopub.find((m) => m.header.msg_type === "execute_result"))).toBe("[ 2, false ]");
    } finally {
      client.close();
      proc.kill("SIGKILL");
    }
  }, 600_000);
});
