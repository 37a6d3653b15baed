// Shared by the sharded-model tests: the processes this test process has started, a rank killed
// mid-generation, and the bytes of the tensors a tensor-parallel shard splits, read from the checkpoint's
// safetensors headers.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Pids of this process's live children (ps), so a test can see that no rank was left behind. */
export function childPids(): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=,stat=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 2 && !f[1]!.startsWith("Z")).map((f) => Number(f[0]));
  } catch {
    return []; // ps exits 1 when there is no child
  }
}

export async function waitGone(pids: number[], ms = 10_000): Promise<number[]> {
  const alive = (p: number) => { try { process.kill(p, 0); return !isZombie(p); } catch { return false; } };
  const end = Date.now() + ms;
  while (Date.now() < end && pids.some(alive)) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

/** Reads `stream` to its end, SIGKILLing `pid` once the first tokens have come; settles as the stream does. */
export async function drainKillingAtFirstToken(stream: AsyncIterable<{ tokens: unknown[] }>, pid: number): Promise<void> {
  let killed = false;
  for await (const c of stream) {
    if (!killed && c.tokens.length) {
      killed = true;
      process.kill(pid, "SIGKILL");
    }
  }
}

function isZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return false;
  }
}

const SPLIT = /^model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.(weight|scales|biases)$/;
const FLOAT = new Set(["BF16", "F16", "F32"]);

/** Bytes of the tensors shard() splits, as loaded with floating tensors cast to `floatBytes` per element (0: as stored). */
export function splitBytes(dir: string, floatBytes = 0): number {
  let n = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".safetensors"))) {
    const buf = readFileSync(join(dir, f));
    const len = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + len).toString("utf8")) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    for (const [name, t] of Object.entries(header)) {
      if (name === "__metadata__" || !SPLIT.test(name)) continue;
      const stored = t.data_offsets[1] - t.data_offsets[0];
      n += floatBytes && FLOAT.has(t.dtype) ? t.shape.reduce((a, b) => a * b, 1) * floatBytes : stored;
    }
  }
  return n;
}
