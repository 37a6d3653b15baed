// Test harness for the kernel's protocol tests: builds dist if needed, starts a real kernel process on
// real sockets, and talks to it with a raw ZeroMQ client (no jupyter_client in between).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { buildKernelSpec } from "../../kernel/jupyter/kernelspec.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const VENV_BIN = join(ROOT, ".venv", "bin");

function newest(dir: string): number {
  let t = 0;
  if (!existsSync(dir)) return t;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Compiles TypeScript when dist is older than the kernel's sources (npm test builds it already). */
export function ensureBuilt(): void {
  const out = join(ROOT, "dist", "bin", "mlx-ts.js");
  const src = Math.max(newest(join(ROOT, "kernel")), newest(join(ROOT, "bin")), newest(join(ROOT, "repl")));
  if (existsSync(out) && newest(join(ROOT, "dist")) >= src) return;
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.json")], { cwd: ROOT, encoding: "utf8" });
  if (!existsSync(out)) throw new Error(`tsc did not produce ${out}:\n${r.stdout}${r.stderr}`);
}

/** argv (after node) that starts a kernel on a connection file, as the kernelspec does. */
export function kernelArgv(connectionFile: string): string[] {
  return [join(ROOT, "dist", "bin", "mlx-ts.js"), "kernel", "-f", connectionFile];
}

/** The environment the kernelspec (kernel.json) gives the kernel, so tests run it as Jupyter does. */
export function kernelSpecEnv(): Record<string, string> {
  return buildKernelSpec(ROOT).env ?? {};
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? res(a.port) : rej(new Error("no port"))));
    });
  });
}

export interface Connection {
  transport: "tcp" | "ipc";
  ip: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

export async function makeConnection(transport: "tcp" | "ipc" = "tcp"): Promise<Connection> {
  if (transport === "ipc") {
    const base = join(mkdtempSync(join(tmpdir(), "mlx-ts-ipc-")), "kernel");
    return { transport: "ipc", ip: base, shell_port: 1, control_port: 2, stdin_port: 3, iopub_port: 4, hb_port: 5, key: randomUUID(), signature_scheme: "hmac-sha256" };
  }
  const ports = new Set<number>();
  while (ports.size < 5) ports.add(await freePort());
  const [shell_port, control_port, stdin_port, iopub_port, hb_port] = [...ports] as [number, number, number, number, number];
  return { transport: "tcp", ip: "127.0.0.1", shell_port, control_port, stdin_port, iopub_port, hb_port, key: randomUUID(), signature_scheme: "hmac-sha256" };
}

export interface Msg {
  header: Record<string, unknown> & { msg_id: string; msg_type: string };
  parent_header: Record<string, unknown>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
}

type Channel = "shell" | "control" | "stdin";

const DELIM = Buffer.from("<IDS|MSG>");

export class RawClient {
  readonly session = randomUUID();
  private readonly dealers: Record<Channel, zmq.Dealer>;
  private readonly iopub = new zmq.Subscriber({ linger: 0 });
  private readonly hb = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
  /** every message received, per channel, in order */
  readonly received: Record<Channel | "iopub", Msg[]> = { shell: [], control: [], stdin: [], iopub: [] };
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(readonly conn: Connection) {
    const identity = Buffer.from(this.session);
    this.dealers = {
      shell: new zmq.Dealer({ linger: 0, routingId: this.session }),
      control: new zmq.Dealer({ linger: 0, routingId: this.session }),
      stdin: new zmq.Dealer({ linger: 0, routingId: this.session }),
    };
    void identity;
  }

  async connect(): Promise<void> {
    const ep = (p: number) => (this.conn.transport === "ipc" ? `ipc://${this.conn.ip}-${p}` : `tcp://${this.conn.ip}:${p}`);
    this.dealers.shell.connect(ep(this.conn.shell_port));
    this.dealers.control.connect(ep(this.conn.control_port));
    this.dealers.stdin.connect(ep(this.conn.stdin_port));
    this.iopub.connect(ep(this.conn.iopub_port));
    this.iopub.subscribe();
    this.hb.connect(ep(this.conn.hb_port));
    for (const ch of ["shell", "control", "stdin"] as Channel[]) void this.pump(ch, this.dealers[ch]);
    void this.pump("iopub", this.iopub);
  }

  private async pump(ch: Channel | "iopub", sock: zmq.Dealer | zmq.Subscriber): Promise<void> {
    try {
      for await (const frames of sock) {
        const d = frames.findIndex((f) => DELIM.equals(f));
        const [, h, p, m, c] = frames.slice(d + 1);
        this.received[ch].push({ header: JSON.parse(h!.toString()), parent_header: JSON.parse(p!.toString()), metadata: JSON.parse(m!.toString()), content: JSON.parse(c!.toString()) });
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      }
    } catch (e) {
      if (!this.closed) throw e;
    }
  }

  sign(parts: Buffer[], key = this.conn.key): string {
    const h = createHmac("sha256", key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  /** Builds the frames of a request; `tamper` can replace the signature or the frames for negative tests. */
  frames(type: string, content: Record<string, unknown>, tamper: { signature?: string; header?: Record<string, unknown> } = {}): { msgId: string; frames: Buffer[] } {
    const header = tamper.header ?? { msg_id: randomUUID(), session: this.session, username: "test", date: new Date().toISOString(), msg_type: type, version: "5.4" };
    const parts = [header, {}, {}, content].map((o) => Buffer.from(JSON.stringify(o)));
    const sig = tamper.signature ?? this.sign(parts);
    return { msgId: String(header.msg_id), frames: [DELIM, Buffer.from(sig), ...parts] };
  }

  async sendRaw(ch: Channel, frames: Buffer[]): Promise<void> {
    await this.dealers[ch].send(frames);
  }

  async request(ch: Channel, type: string, content: Record<string, unknown> = {}): Promise<string> {
    const { msgId, frames } = this.frames(type, content);
    await this.sendRaw(ch, frames);
    return msgId;
  }

  /** Resolves with the first message on `ch` matching `pred`, waiting up to `timeoutMs`. */
  async waitFor(ch: Channel | "iopub", pred: (m: Msg) => boolean, timeoutMs = 30_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received[ch].find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a message on ${ch}; got ${this.received[ch].map((m) => m.header.msg_type).join(", ")}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  reply(ch: Channel, msgId: string, timeoutMs?: number): Promise<Msg> {
    return this.waitFor(ch, (m) => m.parent_header.msg_id === msgId && m.header.msg_type.endsWith("_reply"), timeoutMs);
  }

  /** iopub messages of one request, up to and including its idle status. */
  async iopubFor(msgId: string, timeoutMs?: number): Promise<Msg[]> {
    await this.waitFor("iopub", (m) => m.parent_header.msg_id === msgId && m.header.msg_type === "status" && m.content.execution_state === "idle", timeoutMs);
    return this.received.iopub.filter((m) => m.parent_header.msg_id === msgId);
  }

  async execute(code: string, extra: Record<string, unknown> = {}, timeoutMs?: number): Promise<{ reply: Msg; iopub: Msg[] }> {
    const id = await this.request("shell", "execute_request", { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true, ...extra });
    const reply = await this.reply("shell", id, timeoutMs);
    return { reply, iopub: await this.iopubFor(id, timeoutMs) };
  }

  async ping(payload = "ping"): Promise<string> {
    await this.hb.send(payload);
    const [r] = await this.hb.receive();
    return r!.toString();
  }

  /** Waits until the kernel answers kernel_info on shell (iopub is subscribed by then as well). */
  async ready(timeoutMs = 120_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const id = await this.request("shell", "kernel_info_request");
      try {
        const r = await this.reply("shell", id, 2000);
        // iopub subscriptions take a moment; kernel_info's idle status proves we receive iopub.
        await this.waitFor("iopub", (m) => m.parent_header.msg_id === id, 2000);
        return r;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
    }
  }

  close(): void {
    this.closed = true;
    for (const s of [...Object.values(this.dealers), this.iopub, this.hb]) s.close();
  }
}

export interface RunningKernel {
  proc: ChildProcess;
  client: RawClient;
  dir: string;
  stderr: () => string;
  stop: () => Promise<void>;
}

export async function startKernel(env: NodeJS.ProcessEnv = {}, transport: "tcp" | "ipc" = "tcp"): Promise<RunningKernel> {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "mlx-ts-kernel-"));
  const conn = await makeConnection(transport);
  const file = join(dir, "connection.json");
  writeFileSync(file, JSON.stringify(conn));
  const proc = spawn(process.execPath, kernelArgv(file), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: kernelEnv(env) });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  proc.stdout!.on("data", (d: Buffer) => (err += d.toString()));
  const client = new RawClient(conn);
  await client.connect();
  await client.ready();
  return {
    proc,
    client,
    dir,
    stderr: () => err,
    stop: async () => {
      client.close();
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGKILL");
        await new Promise((r) => proc.once("exit", r));
      }
    },
  };
}

export function randomKey(): string {
  return randomBytes(16).toString("hex");
}

export interface TempJupyter {
  /** temp root; JUPYTER_PATH, data and runtime dirs live under it */
  dir: string;
  /** environment for Jupyter tools (python, jupyter server, nbclient) that must find only our kernelspec */
  env: NodeJS.ProcessEnv;
}

/**
 * Installs the "mlx-ts" kernelspec into a fresh temporary prefix with the real CLI (`mlx-ts install --prefix`)
 * and returns an environment whose JUPYTER_PATH finds it (and a history file of its own).
 */
export function installTempKernelSpec(): TempJupyter {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "mlx-ts-jupyter-"));
  const r = spawnSync(process.execPath, [join(ROOT, "dist", "bin", "mlx-ts.js"), "install", "--prefix", dir], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`mlx-ts install failed (${r.status}): ${r.stderr}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: join(dir, "share", "jupyter"),
    JUPYTER_DATA_DIR: join(dir, "data"),
    JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
    JUPYTER_CONFIG_DIR: join(dir, "config"),
    JUPYTER_PLATFORM_DIRS: "1",
    MLX_TS_HISTORY_FILE: join(dir, "history.jsonl"),
    PYTHONUNBUFFERED: "1",
  };
  return { dir, env };
}

export interface JupyterServer {
  baseUrl: string;
  token: string;
  stop: () => Promise<void>;
  log: () => string;
}

/**
 * Starts `.venv/bin/jupyter server` (or `jupyter lab` with `app: "lab"`, extra `args` appended) on a free
 * port with a token, serving `rootDir`, finding kernels through `env`.
 */
export async function startJupyterServer(env: NodeJS.ProcessEnv, rootDir: string, opts: { app?: "server" | "lab"; args?: string[] } = {}): Promise<JupyterServer> {
  const port = await freePort();
  const token = randomBytes(16).toString("hex");
  const proc = spawn(join(VENV_BIN, "jupyter"), [opts.app ?? "server", "--no-browser", `--port=${port}`, "--ip=127.0.0.1", `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${rootDir}`, "--ServerApp.port_retries=0", ...(process.getuid?.() === 0 ? ["--allow-root"] : []), ...(opts.args ?? [])], { env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const baseUrl = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`jupyter ${opts.app ?? "server"} exited with ${proc.exitCode}:\n${log}`);
    try {
      const r = await fetch(`${baseUrl}api/status`, { headers: { Authorization: `token ${token}` } });
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`jupyter ${opts.app ?? "server"} did not come up in 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    baseUrl,
    token,
    log: () => log,
    stop: async () => {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await new Promise((r) => proc.once("exit", r));
      clearTimeout(t);
    },
  };
}

// The kernel as Jupyter starts it: CI's FORCE_COLOR=0 (set for vitest's own output) must not reach it.
function kernelEnv(env: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, ...kernelSpecEnv(), ...env };
  if (env?.FORCE_COLOR === undefined) delete e.FORCE_COLOR;
  return e;
}
