// In-process harness for the magic tests: a real Session over the real engine, with a sink that records
// every output (streams, displays and in-place updates by display_id) the way a front end would see it.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../../kernel/magics/engine-magics.js";
import { createEngine } from "../../kernel/engine/index.js";
import { createSession, type ExecuteOutcome, type MimeBundle, type OutputSink, type Session } from "../../kernel/session/index.js";
import { installTempKernelSpec, ROOT, VENV_BIN } from "./kernel-harness.js";

export type Recorded =
  | { kind: "stream"; name: "stdout" | "stderr"; text: string }
  | { kind: "display"; data: MimeBundle; displayId?: string }
  | { kind: "update"; data: MimeBundle; displayId: string };

export class RecordingSink implements OutputSink {
  readonly events: Recorded[] = [];
  /** called after each recorded event (a test can interrupt from here) */
  onEvent: ((e: Recorded) => void) | undefined;
  private record(e: Recorded): void {
    this.events.push(e);
    this.onEvent?.(e);
  }
  stream(name: "stdout" | "stderr", text: string): void {
    this.record({ kind: "stream", name, text });
  }
  display(data: MimeBundle, opts?: { displayId?: string }): void {
    this.record({ kind: "display", data, displayId: opts?.displayId });
  }
  updateDisplay(data: MimeBundle, opts: { displayId: string }): void {
    this.record({ kind: "update", data, displayId: opts.displayId });
  }
  clearOutput(): void {}
  input(): Promise<string> {
    return Promise.reject(new Error("no stdin in tests"));
  }
  get stdout(): string {
    return this.events.filter((e) => e.kind === "stream" && e.name === "stdout").map((e) => (e as { text: string }).text).join("");
  }
  /** The outputs as a notebook would keep them: each display replaced in place by its updates. */
  get outputs(): MimeBundle[] {
    const out: MimeBundle[] = [];
    const byId = new Map<string, number>();
    for (const e of this.events) {
      if (e.kind === "display") {
        if (e.displayId) byId.set(e.displayId, out.length);
        out.push(e.data);
      } else if (e.kind === "update") {
        const i = byId.get(e.displayId);
        if (i !== undefined) out[i] = e.data;
      }
    }
    return out;
  }
  text(): string {
    return [this.stdout, ...this.outputs.map((b) => String(b["text/plain"] ?? ""))].join("\n");
  }
}

export const FIXTURES = join(import.meta.dirname, "..", ".fixtures", "models");

export interface Harness {
  session: Session;
  run(code: string, sink?: RecordingSink): Promise<{ outcome: ExecuteOutcome; sink: RecordingSink }>;
  shutdown(): Promise<void>;
}

export async function startHarness(): Promise<Harness & { engine: ReturnType<typeof createEngine> }> {
  const engine = createEngine();
  const session = await createSession({
    engine,
    historyFile: join(mkdtempSync(join(tmpdir(), "mlx-ts-magics-")), "history.jsonl"),
    handleSigint: false,
    catchProcessErrors: false,
  });
  return {
    session,
    engine,
    async run(code, sink = new RecordingSink()) {
      const outcome = await session.execute({ code, silent: false, storeHistory: true, allowStdin: false }, sink);
      return { outcome, sink };
    },
    async shutdown() {
      await session.shutdown();
      engine.dispose();
    },
  };
}

// ---- through the real kernel process (jupyter_client from .venv) ----


export interface KernelCell {
  code: string;
  interrupt_after?: number;
  timeout?: number;
  settle?: number;
}

export interface IopubMsg {
  msg_type: string;
  content: Record<string, unknown> & { data?: MimeBundle; transient?: { display_id?: string }; text?: string; execution_state?: string };
  t: number;
}

export interface KernelCellResult {
  code: string;
  reply: { status: string; ename?: string; evalue?: string; traceback?: string[] } | null;
  iopub: IopubMsg[];
  interrupted_at: number | null;
}

/**
 * Installs the kernelspec into a temp JUPYTER_PATH. Should kernel/magics/index.ts not import the engine
 * magics (it does), the kernel is started with `--import` of them.
 */
export function installKernelWithMagics(): { env: NodeJS.ProcessEnv; dir: string } {
  const t = installTempKernelSpec();
  const specFile = join(t.dir, "share", "jupyter", "kernels", "mlx-ts", "kernel.json");
  const spec = JSON.parse(readFileSync(specFile, "utf8")) as { argv: string[] };
  const magics = join(ROOT, "dist", "kernel", "magics", "engine-magics.js");
  if (!existsSync(magics)) throw new Error(`${magics} is missing: build with tsc first`);
  const index = readFileSync(join(ROOT, "dist", "kernel", "magics", "index.js"), "utf8");
  if (!index.includes("engine-magics") && !spec.argv.some((a) => a.includes("engine-magics"))) spec.argv.splice(1, 0, "--import", magics);
  writeFileSync(specFile, JSON.stringify(spec));
  return t;
}

export function runInKernel(cells: KernelCell[], env?: NodeJS.ProcessEnv): KernelCellResult[] {
  const e = env ?? installKernelWithMagics().env;
  const out = join(mkdtempSync(join(tmpdir(), "mlx-ts-kdriver-")), "cells.json");
  const r = spawnSync(join(VENV_BIN, "python"), [join(ROOT, "test", "integration", "magics-kernel-driver.py")], {
    input: JSON.stringify({ out, cells }), env: e, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 900_000,
  });
  if (r.status !== 0 || !existsSync(out)) throw new Error(`kernel driver failed (${r.status}): ${r.stderr.slice(-4000)}`);
  return JSON.parse(readFileSync(out, "utf8")) as KernelCellResult[];
}

/** Polls until `cond` holds (outputs that arrive after a cell's reply, e.g. a stream's final render). */
export async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

/** The outputs of a cell as a notebook would keep them (displays replaced by their updates). */
export function cellOutputs(c: KernelCellResult): MimeBundle[] {
  const out: MimeBundle[] = [];
  const byId = new Map<string, number>();
  for (const m of c.iopub) {
    const id = m.content.transient?.display_id;
    if (m.msg_type === "display_data" || m.msg_type === "execute_result") {
      if (id) byId.set(id, out.length);
      out.push(m.content.data ?? {});
    } else if (m.msg_type === "update_display_data" && id !== undefined && byId.has(id)) {
      out[byId.get(id)!] = m.content.data ?? {};
    } else if (m.msg_type === "stream") {
      out.push({ "text/plain": String(m.content.text ?? "") });
    }
  }
  return out;
}

export function cellText(c: KernelCellResult): string {
  return cellOutputs(c).map((b) => String(b["text/plain"] ?? "")).join("\n");
}

/** The small random-weight checkpoints (scripts/make-fixtures.py is idempotent and fast when they exist). */
export function ensureFixtures(): void {
  if (existsSync(join(FIXTURES, "qwen3-tiny-bf16", ".fixture-stamp"))) return;
  const r = spawnSync(join(VENV_BIN, "python"), [join(ROOT, "scripts", "make-fixtures.py")], { cwd: ROOT, encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`scripts/make-fixtures.py failed (${r.status}): ${r.stderr}`);
}

export const STATS_LINE = /prompt: \d+ tokens( \(\d+ reused\))?, [\d.–]+ tok\/s \| TTFT: [\d.]+ m?s \| generation: \d+ tokens, [\d.–]+ tok\/s \| peak memory: [\d.]+ [KMG]?B \| stop: (eos|length|stop|cancelled)/;
