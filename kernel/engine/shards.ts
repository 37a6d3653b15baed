// A model sharded over rank processes (MLX distributed: tensor parallel as mlx-lm's shard(), or pipeline
// parallel as its pipeline(), layers split across ranks; native/src/dist/): the session
// forks N ranks (shard-rank.ts), or starts them over ssh on the hosts a hosts file names (shards-remote.ts);
// each loads only its shard, and every command goes to all of them; rank 0's
// tokens stream back. To the engine it is a NativeModel like any other, so EngineModel runs it unchanged.
// A rank that exits, or does not join within the time-out, ends the load or generation naming the rank,
// and every other rank is killed: nothing is left running.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type {
  NativeGenerateParams, NativeGeneration, NativeGenerationEvent, NativeGenerationStats, NativeLoadOptions, NativeModel, NativeModelInfo,
} from "./native-types.js";
import { checkListen, loopbackHosts, readHosts, ringHosts, writeHosts, type HostsPlan } from "./shards-hosts.js";
import { forkRank, hasExited, whenEnded, type RankHandlers, type RankProcess } from "./shards-launch.js";
import { remoteExitReason, sshProgram, sshRank } from "./shards-remote.js";
import type { RankEvent, RankMemory, RankRequest } from "./shards-protocol.js";
import { MlxTsError } from "./types.js";

export interface ShardOptions {
  shards: number;
  backend?: "ring" | "nccl" | "mpi";
  /** MLX's ring hostfile or mlx.launch's (shards-hosts.ts); default: free ports on 127.0.0.1 */
  hosts?: string;
  mode?: "tensor" | "pipeline";
  /** how long the ranks have to start, join and load (default $MLX_TS_SHARD_TIMEOUT_MS or 60 s) */
  timeoutMs?: number;
}

export interface RankStatus extends RankMemory {
  rank: number;
  /** its process id on its host (-1 until a remote rank has reported it) */
  pid: number;
  /** the ssh host it runs on; absent: this machine */
  host?: string;
  weightBytes: number;
}

/** "rank 1 (pid 123)", "rank 1 (pid 123 on mac2)", as errors name a rank */
function rankLabel(r: Rank): string {
  const { pid, host } = r.status;
  if (!host) return `rank ${r.rank} (pid ${pid})`;
  return pid > 0 ? `rank ${r.rank} (pid ${pid} on ${host})` : `rank ${r.rank} (on ${host})`;
}

/** What a remote rank gets of this process's environment: MLX's and NCCL's settings, and the hosts file's "envs". */
function forwardedEnv(envs: string[]): Record<string, string> {
  const own = new Set(["MLX_RANK", "MLX_HOSTFILE", "MLX_TS_SSH", "MLX_TS_HOSTS", "MLX_TS_RANK", "MLX_TS_ADDON"]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && /^(MLX_|NCCL_)/.test(k) && !own.has(k)) out[k] = v;
  for (const e of envs) {
    const i = e.indexOf("=");
    out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}


type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;


interface Rank {
  rank: number;
  proc: RankProcess;
  joining: boolean;
  joined: boolean;
  stderr: string;
  status: RankStatus;
  /** when its last message came (heartbeats included) */
  heardAt: number;
}

/** How long a rank may send nothing (not even its heartbeat) before it counts as stalled: $MLX_TS_SHARD_STALL_MS or 30 s. */
const stallMs = () => Number(process.env.MLX_TS_SHARD_STALL_MS) || 30_000;

/** Checks the options and starts the ranks; resolves once every rank holds its shard. */
export async function loadSharded(native: NativeLoadOptions, o: ShardOptions): Promise<ShardedModel> {
  const n = o.shards;
  if (!Number.isInteger(n) || n < 2 || n > 64) throw new MlxTsError("E_BAD_ARGUMENT", `--shards must be an integer from 2 to 64, not ${n}. (1 shard is a plain load: leave --shards out.)`);
  const mode = o.mode ?? "tensor";
  if (mode !== "tensor" && mode !== "pipeline") throw new MlxTsError("E_BAD_ARGUMENT", `--mode must be tensor or pipeline, not ${mode}.`);
  const backend = o.backend ?? "ring";
  if (!["ring", "nccl", "mpi"].includes(backend)) throw new MlxTsError("E_BAD_ARGUMENT", `--backend must be ring, nccl or mpi, not ${backend}.`);
  if (native.format !== "safetensors") throw new MlxTsError("E_BAD_ARGUMENT", `Sharded loads read safetensors checkpoints; ${native.path} is a GGUF file. Convert it (mlx_lm.convert) or load it without --shards.`);
  let plan: HostsPlan;
  if (o.hosts) {
    plan = readHosts(o.hosts, n);
    // Only this machine's ports can be checked before anything starts; a remote rank's show when it binds.
    await Promise.all(plan.ranks.map((p, rank) => (p.ssh ? undefined : Promise.all(p.addresses.map((a) => checkListen(a, rank))))));
  } else {
    plan = await loopbackHosts(n);
  }
  const dir = mkdtempSync(join(tmpdir(), "mlx-ts-shards-"));
  const timeoutMs = o.timeoutMs ?? (Number(process.env.MLX_TS_SHARD_TIMEOUT_MS) || 60_000);
  const group = new ShardGroup(plan, writeHosts(dir, ringHosts(plan)), backend, dir, timeoutMs);
  const info = await group.load({ ...native, shards: n, shardMode: mode }, timeoutMs);
  return new ShardedModel(group, info, backend, mode);
}

class ShardGroup {
  readonly ranks: Rank[];
  private nextId = 1;
  private readonly handlers = new Map<number, (r: number, ev: RankEvent) => void>();
  /** set once a rank has failed: the reason, naming the rank */
  failure: MlxTsError | undefined;
  private readonly onFailure = new Set<(e: MlxTsError) => void>();
  private closing = false;

  constructor(plan: HostsPlan, hostfile: string, private readonly backend: string, private readonly dir: string, timeoutMs: number) {
    const ring = JSON.stringify(ringHosts(plan));
    this.ranks = plan.ranks.map((place, rank) => {
      let r!: Rank;
      const on: RankHandlers = {
        output: (text) => {
          r.stderr = (r.stderr + text).slice(-2000);
          // A remote rank's output has nowhere else to go: the session's stderr (the kernel's log).
          if (place.ssh) for (const l of text.split("\n").filter(Boolean)) process.stderr.write(`[rank ${rank} on ${place.ssh}] ${l}\n`);
        },
        message: (ev) => {
          r.heardAt = Date.now();
          if (ev.type === "started") r.status = { ...r.status, pid: ev.pid };
          if (ev.type === "joining") r.joining = true;
          if (ev.type === "joined") r.joined = true;
          this.handlers.get(ev.id)?.(rank, ev);
        },
      };
      const env = { MLX_RANK: String(rank), MLX_TS_RANK: String(rank) };
      const proc = place.ssh
        ? sshRank({ ...place, ssh: place.ssh }, { ...forwardedEnv(plan.envs), ...env, MLX_TS_HOSTS: ring }, Math.max(1, Math.min(15, timeoutMs / 2000)), on)
        : forkRank({ ...env, MLX_HOSTFILE: hostfile }, on);
      const child = proc.child;
      r = {
        rank, proc, joining: false, joined: false, stderr: "", heardAt: Date.now(),
        // a remote rank's pid is the one it reports ("started"); until then, none
        status: { rank, pid: place.ssh ? -1 : child.pid ?? -1, weightBytes: 0, activeMemory: 0, peakMemory: 0, ...(place.ssh ? { host: place.ssh } : {}) },
      };
      whenEnded(child, (code, signal) => {
        if (this.closing) return;
        const how = place.ssh ? remoteExitReason(place.ssh, code, signal, r.stderr, r.status.pid > 0) : signal ? `was killed (${signal})` : `exited with code ${code}`;
        const tail = !place.ssh && r.stderr.trim() ? `; its last output: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}` : "";
        this.fail(new MlxTsError("E_MLX", `${rankLabel(r)} ${place.ssh ? "ended: " : ""}${how}${tail}. All ranks were stopped; load the model again.`));
      });
      child.on("error", (e) => this.fail(new MlxTsError("E_MLX", `${rankLabel(r)} could not be started (${place.ssh ? `${sshProgram()}: ` : ""}${e.message}). All ranks were stopped.`)));
      return r;
    });
    // A stopped or hung rank leaves the others blocked in a collective for ever: end the group, naming it.
    this.watchdog = setInterval(() => {
      const limit = stallMs();
      const quiet = this.ranks.find((r) => Date.now() - r.heardAt > limit);
      if (quiet)
        this.fail(new MlxTsError("E_MLX", `${rankLabel(quiet)} stalled: nothing from it for ${(limit / 1000).toFixed(0)} s (stopped, hung, or its host unreachable). All ranks were stopped; load the model again.`));
    }, Math.min(1000, stallMs() / 4));
    this.watchdog.unref();
  }

  private readonly watchdog: NodeJS.Timeout;

  pids(): number[] {
    return this.ranks.map((r) => r.status.pid);
  }

  /** Sends to every rank; `on` gets their events for this request until it is dropped. */
  request(m: DistributiveOmit<RankRequest, "id">, on?: (rank: number, ev: RankEvent) => void): number {
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    if (on) this.handlers.set(id, on);
    for (const r of this.ranks) r.proc.send({ ...m, id } as RankRequest);
    return id;
  }

  drop(id: number): void {
    this.handlers.delete(id);
  }

  whenFailed(fn: (e: MlxTsError) => void): () => void {
    this.onFailure.add(fn);
    return () => this.onFailure.delete(fn);
  }

  fail(e: MlxTsError): void {
    if (this.failure || this.closing) return;
    this.failure = e;
    this.kill();
    for (const fn of [...this.onFailure]) fn(e);
  }

  load(opts: NativeLoadOptions & { shards: number; shardMode: "tensor" | "pipeline" }, timeoutMs: number): Promise<NativeModelInfo> {
    return new Promise((resolve, reject) => {
      const loaded = new Set<number>();
      let info: NativeModelInfo | undefined;
      const done = (e?: MlxTsError) => {
        clearTimeout(timer);
        off();
        this.drop(id);
        if (e) {
          this.fail(e);
          reject(this.failure ?? e);
        } else resolve(info!);
      };
      const timer = setTimeout(() => {
        const never = this.ranks.filter((r) => !r.joining).map((r) => r.rank + (r.status.host ? ` (on ${r.status.host})` : ""));
        const stuck = this.ranks.filter((r) => !r.joined).map((r) => r.rank);
        const secs = (timeoutMs / 1000).toFixed(0);
        const why = never.length
          ? `rank${never.length > 1 ? "s" : ""} ${never.join(", ")} never started to join the group`
          : stuck.length
            ? `rank${stuck.length > 1 ? "s" : ""} ${stuck.join(", ")} did not connect (check the addresses in the hosts file and that nothing blocks those ports)`
            : `rank${this.ranks.length - loaded.size > 1 ? "s" : ""} ${this.ranks.filter((r) => !loaded.has(r.rank)).map((r) => r.rank).join(", ")} did not finish loading`;
        done(new MlxTsError("E_MLX", `The sharded load timed out after ${secs} s: ${why}. All ranks were stopped.`));
      }, timeoutMs);
      const off = this.whenFailed((e) => done(e));
      const id = this.request({ op: "load", backend: this.backend, opts }, (rank, ev) => {
        if (ev.type === "error") {
          const hint = /bind/i.test(ev.message) ? " (its port is taken: choose another in the hosts file)" : "";
          done(new MlxTsError(ev.code === "E_MLX" || !ev.code.startsWith("E_") ? "E_MLX" : (ev.code as "E_MLX"), `rank ${rank}: ${ev.message}${hint}`));
        } else if (ev.type === "loaded") {
          const r = this.ranks[rank]!;
          r.status = { ...r.status, weightBytes: ev.weightBytes, activeMemory: ev.activeMemory, peakMemory: ev.peakMemory };
          if (rank === 0) info = ev.info;
          loaded.add(rank);
          if (loaded.size === this.ranks.length) done();
        }
      });
    });
  }

  kill(): void {
    clearInterval(this.watchdog);
    for (const r of this.ranks) r.proc.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Asks every rank to exit, and kills those that have not after `graceMs`. */
  close(graceMs = 2000): Promise<void> {
    this.closing = true;
    clearInterval(this.watchdog);
    for (const r of this.ranks) r.proc.send({ op: "exit", id: 0 });
    const exits = this.ranks.map((r) => hasExited(r.proc.child) ? Promise.resolve() : new Promise<void>((res) => r.proc.child.once("exit", () => res())));
    const t = setTimeout(() => this.kill(), graceMs);
    return Promise.all(exits).then(() => {
      clearTimeout(t);
      rmSync(this.dir, { recursive: true, force: true });
    });
  }
}

/** The NativeModel the engine holds for a sharded model. */
export class ShardedModel implements NativeModel {
  private busy = false;
  private disposed = false;
  closed: Promise<void> = Promise.resolve();

  constructor(private readonly group: ShardGroup, private readonly loadedInfo: NativeModelInfo, readonly backend: string, readonly mode: "tensor" | "pipeline" = "tensor") {}

  /** rank processes' ids, rank order */
  get pids(): number[] {
    return this.group.pids();
  }

  get ranks(): RankStatus[] {
    return this.group.ranks.map((r) => ({ ...r.status }));
  }

  info(): NativeModelInfo {
    return { ...this.loadedInfo, shards: { count: this.group.ranks.length, backend: this.backend, mode: this.mode, ranks: this.ranks } };
  }

  private usable(): void {
    if (this.disposed) throw new MlxTsError("E_BAD_ARGUMENT", "this sharded model was unloaded; load it again to use it.");
    if (this.group.failure) throw this.group.failure;
  }

  generate(prompt: Int32Array, params: NativeGenerateParams, onEvent: (ev: NativeGenerationEvent) => void): NativeGeneration {
    this.usable();
    if (params.draft) throw new MlxTsError("E_BAD_ARGUMENT", "speculative decoding with a sharded model is not supported; drop the draft option.");
    if (this.busy) throw new MlxTsError("E_BAD_ARGUMENT", 'a generation already runs on this model; cancel it or wait for its "done" event.');
    this.busy = true;
    const { draft: _draft, ...rest } = params;
    const ended = new Map<number, NativeGenerationEvent>();
    let finished = false;
    const finish = (ev: NativeGenerationEvent) => {
      if (finished) return;
      finished = true;
      this.busy = false;
      off();
      this.group.drop(id);
      onEvent(ev);
    };
    const emptyStats = (): NativeGenerationStats => ({
      promptTokens: prompt.length, reusedTokens: 0, generatedTokens: 0, ttftMs: 0, prefillMs: 0, decodeMs: 0, promptTps: 0, generationTps: 0,
      peakMemory: 0, kvCacheBytes: 0, stopReason: "error",
    });
    const off = this.group.whenFailed((e) => finish({ type: "error", code: "E_MLX", message: e.message, stats: emptyStats() }));
    const id = this.group.request({ op: "generate", prompt: Array.from(prompt), params: rest }, (rank, m) => {
      if (m.type === "error") return finish({ type: "error", code: "E_MLX", message: `rank ${rank}: ${m.message}`, stats: emptyStats() });
      if (m.type !== "event") return;
      const ev = m.event;
      if (ev.type === "tokens") {
        if (rank === 0) onEvent(ev);
        return;
      }
      const r = this.group.ranks[rank]!;
      r.status = { ...r.status, activeMemory: m.activeMemory ?? 0, peakMemory: m.peakMemory ?? 0 };
      ended.set(rank, ev);
      // "done" only when every rank has ended, so the next generation finds them all idle.
      if (ended.size < this.group.ranks.length) return;
      const first = ended.get(0) as Extract<NativeGenerationEvent, { type: "done" }>;
      const err = [...ended.entries()].find(([, e]) => e.type === "error");
      if (err) {
        const e = err[1] as Extract<NativeGenerationEvent, { type: "error" }>;
        return finish({ ...e, message: `rank ${err[0]}: ${e.message}` });
      }
      finish({ ...first, stats: { ...first.stats, ranks: this.ranks } });
    });
    return { cancel: () => void (this.group.failure || finished ? undefined : this.group.request({ op: "cancel" })) };
  }

  logits(tokens: Int32Array, positions?: number): Promise<Float32Array> {
    this.usable();
    return new Promise((resolve, reject) => {
      const got = new Set<number>();
      let data: Float32Array | undefined;
      const off = this.group.whenFailed(reject);
      const id = this.group.request({ op: "logits", tokens: Array.from(tokens), ...(positions ? { positions } : {}) }, (rank, m) => {
        if (m.type === "error") {
          off();
          this.group.drop(id);
          return reject(new MlxTsError("E_MLX", `rank ${rank}: ${m.message}`));
        }
        if (m.type !== "logits") return;
        if (rank === 0) data = Float32Array.from(m.data);
        got.add(rank);
        if (got.size === this.group.ranks.length) {
          off();
          this.group.drop(id);
          resolve(data!);
        }
      });
    });
  }

  private refuse(what: string): never {
    throw new MlxTsError("E_BAD_ARGUMENT", `${what} is not supported on a sharded model. Do it on a plain load (without --shards), save it, and load the result with --shards.`);
  }

  quantize(): Promise<never> {
    return Promise.reject(new MlxTsError("E_BAD_ARGUMENT", "Quantizing a sharded model is not supported. Quantize a plain load (%quantize ... --save DIR) and load DIR with --shards."));
  }

  save(): Promise<void> {
    return Promise.reject(new MlxTsError("E_BAD_ARGUMENT", "Saving a sharded model is not supported; each rank holds only its shard. Save a plain load instead."));
  }

  resetCache(): void {
    this.usable();
    this.group.request({ op: "resetCache" });
  }

  savePromptCache(): never {
    this.refuse("Saving a prompt cache");
  }

  loadPromptCache(): never {
    this.refuse("Loading a prompt cache");
  }

  generateBatch(): never {
    this.refuse("Batched generation");
  }

  /** Ends every rank; `closed` resolves once they have all exited. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.closed = this.group.failure ? Promise.resolve() : this.group.close();
  }
}
