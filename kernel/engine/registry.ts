// Several models under one memory budget: the registered models (resident or not), what each is
// charged, loads and reloads that evict by budget.ts's order first, routing a role to a model, and
// the usage (last used, generations) that %models shows. One registry per engine (registryOf).
import { totalmem } from "node:os";
import { chooseRoute, defaultBudget, kvBytes, planEviction, type Backend, type BudgetBasis, type Charge, type KvShape, type RouteCandidate } from "./budget.js";
import { estimateCheckpoint, kvFromConfig, type CheckpointEstimate } from "./estimate.js";
import { validateRegistration, parseRegistrationFile, type FileEntryError, type RegisterInput, type Registration } from "./registration.js";
import { resolveModel } from "./resolve.js";
import { MlxTsError, type Engine, type GenerationStats, type LoadedModel, type LoadOptions } from "./types.js";
import { formatBytes } from "../util/bytes.js";

/** How a model gets loaded: the engine's load, or a magic's load with a progress bar. */
export type Loader = (idOrPath: string, opts: LoadOptions) => Promise<LoadedModel>;

/** Positions the budget reserves for a model's KV cache when its registration names no context. */
export const DEFAULT_CONTEXT = 4096;
/** How long a load waits for a generating model to finish before refusing to evict it. */
export const DEFAULT_EVICT_WAIT_MS = 30_000;

export interface ModelRow {
  name: string;
  /** architecture (model_type) as MLX loaded it, or from the checkpoint's config */
  architecture: string;
  /** "4-bit, group 64", or "none (bfloat16)" */
  quantization: string;
  role?: string;
  priority: number;
  resident: boolean;
  /** MLX's count for a resident model, else the header estimate */
  weightBytes: number;
  weightsEstimated: boolean;
  /** bytes the KV cache holds now (computed from its cached positions), 0 when not resident */
  kvBytes: number;
  /** what the budget charges it: weights + KV at its context length */
  charge: number;
  context: number;
  lastUsed?: Date;
  generations: number;
  generating: boolean;
  path: string;
  /** dist: a sharded model's spread, "2 ranks, pipeline over ring (pids 11, 12)" */
  shards?: string;
  fallback?: string;
}

export interface EnsureOptions {
  load?: Loader;
  /** wait at most this long for generating models that stand in the way (default evictWaitMs) */
  waitMs?: number;
  signal?: AbortSignal;
}

export interface EnsureResult {
  model: LoadedModel;
  /** it was not resident and has been loaded now */
  loaded: boolean;
  evicted: string[];
}

interface Usage {
  seq: number;
  at: Date;
  generations: number;
  /** most KV positions held since load (the native cache keeps its buffers when trimmed) */
  kvPositions: number;
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2 };

export class ModelRegistry {
  private readonly regs = new Map<string, Registration>();
  // dist: the shard options of a %load --shards, so a reload after eviction starts the ranks again
  private readonly shardOpts = new Map<string, Pick<LoadOptions, "shards" | "backend" | "hosts" | "mode" | "shardTimeoutMs">>();
  private readonly usage = new Map<string, Usage>();
  private readonly estimates = new Map<string, CheckpointEstimate>();
  private seq = 0;
  private budgetBytes: number | undefined;
  private basis: BudgetBasis | undefined;
  /** loads and evictions run one at a time, so each plans against what is really resident */
  private queue: Promise<unknown> = Promise.resolve();
  evictWaitMs = DEFAULT_EVICT_WAIT_MS;

  constructor(private readonly engine: Engine) {
    // Every generation counts as a use, wherever it started (a magic, session.generate, model.stream).
    engine.watchGenerations((e) => {
      if (e.phase === "start") this.touch(e.model);
      else if (e.stats) this.noteGeneration(e.model, e.stats);
    });
  }

  private generating(name: string): boolean {
    return this.engine.models.has(name) && this.engine.isGenerating(name);
  }

  // ---- registrations ----

  register(input: RegisterInput | Registration, where = "register"): Registration {
    const r = validateRegistration(input, where);
    this.put(r);
    return r;
  }

  /** Registers every good entry of a JSON file; the bad ones come back with their index and name. */
  registerFile(file: string): { registered: Registration[]; errors: FileEntryError[] } {
    const { entries, errors } = parseRegistrationFile(file);
    for (const r of entries) this.put(r);
    return { registered: entries, errors };
  }

  private put(r: Registration): void {
    // a new path or new load options make the cached estimate stale
    this.estimates.delete(r.name);
    this.regs.set(r.name, r);
  }

  /** Forgets a registration (unloading the model if it is resident). */
  unregister(name: string): void {
    this.sync();
    if (!this.regs.has(name)) throw this.unknown(name);
    if (this.engine.models.has(name)) this.engine.unload(name);
    this.regs.delete(name);
    this.shardOpts.delete(name);  // dist
    this.usage.delete(name);
    this.estimates.delete(name);
  }

  registration(name: string): Registration | undefined {
    this.sync();
    return this.regs.get(name);
  }

  get registrations(): Registration[] {
    this.sync();
    return [...this.regs.values()];
  }

  /** Models loaded straight through the engine join the registry as they are (priority 0, no role). */
  private sync(): void {
    for (const [name, m] of this.engine.models) {
      if (!this.regs.has(name)) this.regs.set(name, { name, path: m.source, priority: 0 });
      if (!this.usage.has(name)) this.touch(name);
    }
  }

  // ---- usage ----

  /** Marks a model as just used (LRU order). */
  touch(name: string): void {
    const u = this.usage.get(name);
    if (u) {
      u.seq = ++this.seq;
      u.at = new Date();
    } else this.usage.set(name, { seq: ++this.seq, at: new Date(), generations: 0, kvPositions: 0 });
  }

  /** Counts a finished generation and the KV positions it left cached. */
  noteGeneration(name: string, stats: Pick<GenerationStats, "promptTokens" | "generatedTokens">): void {
    this.touch(name);
    const u = this.usage.get(name)!;
    u.generations++;
    u.kvPositions = Math.max(u.kvPositions, stats.promptTokens + stats.generatedTokens);
  }

  // ---- budget ----

  private backend(): Backend {
    return this.engine.runtime().backend as Backend;
  }

  /** The default budget, from MLX's limit as it was before any %limit memory. */
  private defaultBasis(): BudgetBasis {
    this.basis ??= defaultBudget(this.backend(), totalmem(), this.engine.defaultLimits().memory);
    return this.basis;
  }

  get budget(): number {
    return this.budgetBytes ?? this.defaultBasis().bytes;
  }

  set budget(bytes: number) {
    if (!Number.isFinite(bytes) || bytes <= 0) throw new MlxTsError("E_BAD_ARGUMENT", `The model budget must be a positive number of bytes, got ${bytes}. Write e.g. session.models.budget = 2e9, or %limit models 2GB.`);
    this.budgetBytes = Math.floor(bytes);
  }

  /** Back to the default share of the device. */
  resetBudget(): void {
    this.budgetBytes = undefined;
  }

  budgetInfo(): { bytes: number; basis: string; used: number } {
    const used = this.residentCharges().reduce((s, c) => s + c.bytes, 0);
    if (this.budgetBytes !== undefined) return { bytes: this.budgetBytes, basis: "set with %limit models / session.models.budget", used };
    const b = this.defaultBasis();
    return { bytes: b.bytes, basis: b.basis, used };
  }

  private contextOf(name: string, modelContext: number): number {
    return this.regs.get(name)?.context ?? Math.min(modelContext, DEFAULT_CONTEXT);
  }

  /** The header estimate of a registered model's checkpoint (cached per registration). `offline`: never download (an HF id not in the cache fails). */
  async estimate(name: string, offline = false): Promise<CheckpointEstimate> {
    this.sync();
    const r = this.regs.get(name);
    if (!r) throw this.unknown(name);
    const hit = this.estimates.get(name);
    if (hit) return hit;
    const resolved = await resolveModel(r.path, offline ? { env: { ...process.env, HF_HUB_OFFLINE: "1" } } : {});
    const e = estimateCheckpoint(resolved, { backend: this.backend(), ...(r.dtype ? { dtype: r.dtype } : {}), ...(r.quant ? { quant: r.quant } : {}) });
    this.estimates.set(name, e);
    return e;
  }

  private residentShape(m: LoadedModel): KvShape {
    const info = m.info();
    return kvFromConfig(info.config, DTYPE_BYTES[info.dtype] ?? 2);
  }

  /** Weights (MLX's count) + the KV cache at the model's context, or more if it already holds more. */
  private residentCharge(m: LoadedModel): { weights: number; kvNow: number; reserve: number; context: number } {
    const info = m.info();
    const shape = this.residentShape(m);
    const context = this.contextOf(m.name, info.contextLength);
    const kvNow = kvBytes(shape, this.usage.get(m.name)?.kvPositions ?? 0);
    return { weights: info.weightBytes, kvNow, reserve: Math.max(kvNow, kvBytes(shape, context)), context };
  }

  private residentCharges(): Charge[] {
    this.sync();
    return [...this.engine.models.values()].map((m) => {
      const c = this.residentCharge(m);
      const r = this.regs.get(m.name);
      return { name: m.name, priority: r?.priority ?? 0, lastUsed: this.usage.get(m.name)?.seq ?? 0, generating: this.generating(m.name), bytes: c.weights + c.reserve };
    });
  }

  /** What loading a registered model would be charged: estimated weights + KV at its context. */
  async estimatedCharge(name: string, offline = false): Promise<{ weights: number; kv: number; context: number; total: number }> {
    const e = await this.estimate(name, offline);
    const context = this.contextOf(name, e.contextLength);
    const kv = kvBytes(e.kv, context);
    return { weights: e.weightBytes, kv, context, total: e.weightBytes + kv };
  }

  // ---- residency ----

  /**
   * The model, resident: loaded now if it was not (evicting lowest priority, then least recently used,
   * and waiting for generating models up to the time-out), refused with the numbers when it cannot fit.
   */
  ensure(name: string, opts: EnsureOptions = {}): Promise<EnsureResult> {
    this.sync();
    const m = this.engine.models.get(name);
    if (m) {
      this.touch(name);
      return Promise.resolve({ model: m, loaded: false, evicted: [] });
    }
    return this.enqueue(() => this.loadUnderBudget(name, opts));
  }

  /** %load / session.load: registers (keeping an earlier role/priority unless given) and loads under the budget. */
  async load(idOrPath: string, opts: LoadOptions & { role?: string; priority?: number; context?: number } = {}, loader?: Loader): Promise<EnsureResult> {
    this.sync();
    const { role, priority, context, onProgress, ...how } = opts;
    const resolved = await resolveModel(idOrPath);
    const name = (how.as ?? resolved.name).trim();
    const prev = this.regs.get(name);
    this.register({
      name,
      path: resolved.path,
      ...(role ?? prev?.role ? { role: role ?? prev?.role } : {}),
      priority: priority ?? prev?.priority ?? 0,
      ...(context ?? prev?.context ? { context: context ?? prev?.context } : {}),
      ...(prev?.fallback ? { fallback: prev.fallback } : {}),
      ...(how.dtype ? { dtype: how.dtype } : {}),
      ...(how.quant ? { quant: how.quant } : {}),
    }, `%load ${idOrPath}`);
    const plain: Loader | undefined = loader ?? (onProgress ? (p, o) => this.engine.load(p, { ...o, onProgress }) : undefined);
    // dist: the shard options ride along with this load (a registration does not keep them)
    const { shards, backend, hosts, mode, shardTimeoutMs } = how;
    const shard = shards !== undefined ? { shards, backend, hosts, mode, shardTimeoutMs } : undefined;
    if (shard) this.shardOpts.set(name, shard);
    else this.shardOpts.delete(name);
    const load: Loader | undefined = shard ? (p, o) => (plain ?? ((q: string, r: LoadOptions) => this.engine.load(q, r)))(p, { ...o, ...shard }) : plain;
    // %load of a resident name loads it again (new options, or a new checkpoint). The old copy stays
    // until the new one works (the engine swaps them), so the budget must hold both meanwhile.
    if (this.engine.models.has(name)) {
      this.estimates.delete(name);
      return this.enqueue(() => this.loadUnderBudget(name, load ? { load } : {}, true));
    }
    try {
      return await this.ensure(name, load ? { load } : {});
    } catch (e) {
      // A %load that fails leaves no registration it made itself (a later %models would list a model that never loaded).
      if (!prev && this.regs.has(name) && !this.engine.models.has(name)) this.unregister(name);
      throw e;
    }
  }

  private enqueue<T>(f: () => Promise<T>): Promise<T> {
    const run = this.queue.then(f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async loadUnderBudget(name: string, opts: EnsureOptions, replacing = false): Promise<EnsureResult> {
    const existing = this.engine.models.get(name);
    if (existing && !replacing) return { model: existing, loaded: false, evicted: [] };
    const r = this.regs.get(name);
    if (!r) throw this.unknown(name);
    const need = await this.estimatedCharge(name);
    const budget = this.budget;
    if (need.total > budget) {
      throw new MlxTsError("E_MEMORY_LIMIT",
        `${name} does not fit in the model budget: it needs about ${formatBytes(need.total)} (weights ${formatBytes(need.weights)} + KV cache ${formatBytes(need.kv)} at ${need.context} tokens) ` +
        `and the whole budget is ${formatBytes(budget)}. Nothing was unloaded. Raise the budget (%limit models ${formatBytes(Math.ceil(need.total * 1.1)).replace(" ", "")}), ` +
        `register a quantized copy (%fit ${name} shows the sizes at 8 and 4 bits), or register it with a smaller --context.`);
    }
    const keep = new Set(replacing ? [name] : []);
    let plan = planEviction(this.residentCharges(), need.total, budget, keep);
    if (!plan.fits && plan.blockedBy.length) {
      await this.waitIdle(plan.blockedBy, opts);
      plan = planEviction(this.residentCharges(), need.total, budget, keep);
    }
    if (!plan.fits && replacing) {
      throw new MlxTsError("E_MEMORY_LIMIT",
        `Loading ${name} again (about ${formatBytes(need.total)}) while its current copy (kept until the new one works) and the other resident models are in memory would pass the model budget of ${formatBytes(budget)}. ` +
        `%unload ${name} first, then %load it; or raise the budget with %limit models SIZE.`);
    }
    if (!plan.fits) {
      const busy = this.residentCharges().filter((c) => c.generating).map((c) => `${c.name} (${formatBytes(c.bytes)})`);
      throw new MlxTsError("E_MEMORY_LIMIT",
        `Cannot load ${name} (about ${formatBytes(need.total)}): the budget is ${formatBytes(budget)}, ${formatBytes(plan.used)} is held by resident models, and the ones that would have to go are generating` +
        `${busy.length ? `: ${busy.join(", ")}` : ""}. A generating model is never evicted; waited ${((opts.waitMs ?? this.evictWaitMs) / 1000).toFixed(0)} s. ` +
        "Wait for or cancel the generation, unload a model, or raise the budget with %limit models SIZE.");
    }
    for (const victim of plan.evict) this.engine.unload(victim);
    // unload() clears MLX's cache after each, so the freed buffers go back to the system before the load.
    const load = opts.load ?? ((p: string, o: LoadOptions) => this.engine.load(p, o));
    const model = await load(r.path, { as: name, ...(r.dtype ? { dtype: r.dtype } : {}), ...(r.quant ? { quant: r.quant } : {}), ...this.shardOpts.get(name) });
    this.usage.set(name, { seq: ++this.seq, at: new Date(), generations: this.usage.get(name)?.generations ?? 0, kvPositions: 0 });
    return { model, loaded: true, evicted: plan.evict };
  }

  /** Waits until none of `names` is generating, at most the time-out (or until the signal aborts). */
  private async waitIdle(names: string[], opts: EnsureOptions): Promise<void> {
    const deadline = performance.now() + (opts.waitMs ?? this.evictWaitMs);
    const busy = (): boolean => names.some((n) => this.generating(n));
    while (busy() && performance.now() < deadline && !opts.signal?.aborted) {
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  // ---- routing ----

  /**
   * Which model answers `role`: its highest-priority (then largest) model if that fits after eviction,
   * else the best smaller model of the role, else the stated fallback. `reason` says which and why.
   */
  async route(role: string): Promise<{ name: string; reason: string }> {
    this.sync();
    const cands: RouteCandidate[] = [];
    for (const r of this.regs.values()) {
      if (r.role !== role && ![...this.regs.values()].some((o) => o.role === role && o.fallback === r.name)) continue;
      const m = this.engine.models.get(r.name);
      const bytes = m ? (() => { const c = this.residentCharge(m); return c.weights + c.reserve; })() : (await this.estimatedCharge(r.name)).total;
      cands.push({ name: r.name, ...(r.role ? { role: r.role } : {}), priority: r.priority, bytes, resident: m !== undefined, ...(r.fallback ? { fallback: r.fallback } : {}) });
    }
    const resident = this.residentCharges();
    const budget = this.budget;
    const fits = (c: RouteCandidate): boolean => c.resident || planEviction(resident, c.bytes, budget).fits;
    const choice = chooseRoute(cands, role, fits, formatBytes);
    if (choice === undefined) {
      const roles = [...new Set([...this.regs.values()].map((r) => r.role).filter((x): x is string => !!x))];
      throw new MlxTsError("E_BAD_ARGUMENT", `No registered model has the role "${role}" (${roles.length ? `roles: ${roles.join(", ")}` : "no model has a role yet"}). Register one: %register NAME PATH --role ${role}.`);
    }
    if ("tried" in choice) {
      const sizes = choice.tried.map((n) => `${n} ${formatBytes(cands.find((c) => c.name === n)?.bytes ?? 0)}`).join(", ");
      const busy = resident.filter((c) => c.generating).map((c) => c.name);
      throw new MlxTsError("E_MEMORY_LIMIT", `No model for the role "${role}" fits in the budget of ${formatBytes(budget)} (${sizes})${busy.length ? `, with ${busy.join(", ")} generating and so not evictable` : ""}. ` +
        "Raise the budget with %limit models SIZE, register a smaller model for the role, or give the role's first model a --fallback.");
    }
    return choice;
  }

  // ---- reporting ----

  async rows(): Promise<ModelRow[]> {
    this.sync();
    const out: ModelRow[] = [];
    for (const r of this.regs.values()) {
      const m = this.engine.models.get(r.name);
      const u = this.usage.get(r.name);
      const base = { name: r.name, ...(r.role ? { role: r.role } : {}), priority: r.priority, path: r.path, generations: u?.generations ?? 0, ...(u ? { lastUsed: u.at } : {}), ...(r.fallback ? { fallback: r.fallback } : {}) };
      if (m) {
        const c = this.residentCharge(m);
        const info = m.info();
        const q = info.quantization;
        out.push({ ...base, architecture: info.architecture, quantization: q ? `${q.bits}-bit, group ${q.groupSize}` : `none (${info.dtype})`, resident: true, weightBytes: c.weights, weightsEstimated: false, kvBytes: c.kvNow, charge: c.weights + c.reserve, context: c.context, generating: this.generating(m.name), ...(info.shards ? { shards: `${info.shards.count} ranks, ${info.shards.mode} over ${info.shards.backend} (pids ${info.shards.ranks.map((x) => (x.host ? `${x.pid} on ${x.host}` : x.pid)).join(", ")})` } : {}) });
      } else {
        let est: { weights: number; total: number; context: number } | undefined;
        let e: CheckpointEstimate | undefined;
        try {
          // a listing never downloads: an HF id not in the cache shows "?"
          est = await this.estimatedCharge(r.name, true);
          e = await this.estimate(r.name, true);
        } catch {
          est = undefined; // an unreadable checkpoint shows as 0 here; loading it reports why
        }
        const quantization = e?.quantization ? `${e.quantization.bits}-bit, group ${e.quantization.groupSize}` : e ? "none" : "?";
        out.push({ ...base, architecture: e?.architecture ?? "?", quantization, resident: false, weightBytes: est?.weights ?? 0, weightsEstimated: true, kvBytes: 0, charge: est?.total ?? 0, context: est?.context ?? r.context ?? DEFAULT_CONTEXT, generating: false });
      }
    }
    return out;
  }

  private unknown(name: string): MlxTsError {
    const known = [...this.regs.keys()];
    return new MlxTsError("E_NOT_LOADED", `No model named "${name}" is registered or loaded (${known.length ? `registered: ${known.join(", ")}` : "none registered"}). Register it with %register ${name} PATH, or load it with %load.`);
  }
}

const registries = new WeakMap<Engine, ModelRegistry>();

/** The one registry of an engine. */
export function registryOf(engine: Engine): ModelRegistry {
  let r = registries.get(engine);
  if (!r) {
    r = new ModelRegistry(engine);
    registries.set(engine, r);
  }
  return r;
}
