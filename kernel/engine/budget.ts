// The arithmetic of the model memory budget, with no I/O: what each model is charged, which resident
// models to evict (lowest priority first, then least recently used; never one that is generating),
// which registered model answers a role, and the default budget for a backend. residency.ts applies it.

/** What the budget charges a resident (or candidate) model, in bytes. */
export interface Charge {
  name: string;
  priority: number;
  /** monotonic use counter: larger = used more recently */
  lastUsed: number;
  generating: boolean;
  /** weights + the KV cache reserved at the model's context length */
  bytes: number;
}

export interface EvictionPlan {
  /** the load fits once `evict` are unloaded */
  fits: boolean;
  /** to unload, in this order */
  evict: string[];
  /** generating models that would also have to go for it to fit (wait for them, then plan again) */
  blockedBy: string[];
  /** bytes charged to resident models now */
  used: number;
  need: number;
  budget: number;
}

/** Resident models in the order they would be evicted: lowest priority first, then least recently used. */
export function evictionOrder(resident: readonly Charge[]): Charge[] {
  return [...resident].sort((a, b) => a.priority - b.priority || a.lastUsed - b.lastUsed);
}

/**
 * The fewest evictions, taken in eviction order, that make `need` more bytes fit in `budget`.
 * `keep` are never evicted (the model being loaded, one the caller is about to use).
 */
export function planEviction(resident: readonly Charge[], need: number, budget: number, keep: ReadonlySet<string> = new Set()): EvictionPlan {
  const used = resident.reduce((s, c) => s + c.bytes, 0);
  const plan: EvictionPlan = { fits: used + need <= budget, evict: [], blockedBy: [], used, need, budget };
  if (plan.fits || need > budget) return plan;
  let free = budget - used;
  const order = evictionOrder(resident).filter((c) => !keep.has(c.name));
  for (const c of order) {
    if (free >= need) break;
    if (c.generating) continue;
    plan.evict.push(c.name);
    free += c.bytes;
  }
  if (free >= need) return { ...plan, fits: true };
  // Not enough even with every idle model gone: say which generating ones stand in the way.
  for (const c of order) {
    if (free >= need) break;
    if (!c.generating) continue;
    plan.blockedBy.push(c.name);
    free += c.bytes;
  }
  return plan;
}

/** Geometry of a model's KV cache. */
export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  /** bytes per element of the cached keys/values (the compute dtype) */
  dtypeBytes: number;
}

/** The native KV cache grows in steps of this many positions (native/src/model.h, as mlx-lm). */
export const KV_STEP = 256;

export function kvBytesPerToken(s: KvShape): number {
  return 2 * s.layers * s.kvHeads * s.headDim * s.dtypeBytes;
}

/** Bytes the KV cache holds for `positions` cached positions, rounded up to the allocation step. */
export function kvBytes(s: KvShape, positions: number): number {
  if (positions <= 0) return 0;
  return Math.ceil(positions / KV_STEP) * KV_STEP * kvBytesPerToken(s);
}

/** Parameter counts by how quantization treats them. */
export interface ParamSplit {
  /** weights of layers mlx-lm quantizes (Linear and Embedding with an input size divisible by the group size) */
  quantizable: number;
  /** everything else (norms, biases, odd-sized layers): kept in 16 bits */
  other: number;
}

/**
 * Bytes of the weights at `bits` (16 = unquantized half precision). Affine quantization stores, per
 * group of `groupSize` weights, a 16-bit scale and a 16-bit bias beside the packed values.
 */
export function weightBytesAt(p: ParamSplit, bits: number, groupSize = 64): number {
  if (bits >= 16) return (p.quantizable + p.other) * 2;
  return Math.ceil((p.quantizable * bits) / 8 + (p.quantizable / groupSize) * 4) + p.other * 2;
}

export type Backend = "cpu" | "metal" | "cuda";

/** The share of what the device offers that the model budget defaults to. */
export const DEFAULT_BUDGET_SHARE = 0.75;

export interface BudgetBasis {
  bytes: number;
  /** what the share was taken of, said in %models */
  basis: string;
}

/**
 * The default model budget: DEFAULT_BUDGET_SHARE of RAM on the CPU backend, of the recommended working
 * set on Metal (MLX's default memory limit is 1.5× it), of the GPU memory MLX allows on CUDA (its
 * default memory limit).
 */
export function defaultBudget(backend: Backend, ramBytes: number, mlxDefaultLimit: number): BudgetBasis {
  const pct = `${Math.round(DEFAULT_BUDGET_SHARE * 100)}%`;
  if (backend === "metal") return { bytes: Math.floor((mlxDefaultLimit / 1.5) * DEFAULT_BUDGET_SHARE), basis: `${pct} of Metal's recommended working set` };
  if (backend === "cuda") return { bytes: Math.floor(mlxDefaultLimit * DEFAULT_BUDGET_SHARE), basis: `${pct} of the GPU memory MLX allows (its default memory limit)` };
  return { bytes: Math.floor(ramBytes * DEFAULT_BUDGET_SHARE), basis: `${pct} of RAM (CPU backend)` };
}

/** A registered model as routing sees it. */
export interface RouteCandidate {
  name: string;
  role?: string;
  priority: number;
  /** what it is (or would be) charged */
  bytes: number;
  resident: boolean;
  /** registered fallback to answer when this one cannot fit */
  fallback?: string;
}

export interface RouteChoice {
  name: string;
  /** why this model answers, for the stats line */
  reason: string;
}

/** Candidates of a role, best first: highest priority, then the larger model. */
export function rankForRole(all: readonly RouteCandidate[], role: string): RouteCandidate[] {
  return all.filter((c) => c.role === role).sort((a, b) => b.priority - a.priority || b.bytes - a.bytes);
}

/**
 * Which model answers `role`: the best of the role if it fits (after eviction, as `fits` decides),
 * else the best smaller model of the role that fits, else the preferred model's fallback. Undefined
 * when there is no candidate of the role at all; a `RouteChoice` with `fitsNone` when none fits.
 */
export function chooseRoute(
  all: readonly RouteCandidate[],
  role: string,
  fits: (c: RouteCandidate) => boolean,
  fmt: (bytes: number) => string,
): (RouteChoice & { fitsNone?: false }) | { fitsNone: true; tried: string[] } | undefined {
  const ranked = rankForRole(all, role);
  const best = ranked[0];
  if (!best) return undefined;
  if (fits(best)) return { name: best.name, reason: `role ${role}: ${best.name} is its first choice` };
  const why = `${best.name} (${fmt(best.bytes)}) does not fit in the budget`;
  const smaller = ranked.slice(1).filter((c) => c.bytes < best.bytes);
  for (const c of smaller) if (fits(c)) return { name: c.name, reason: `role ${role}: ${why}; ${c.name} (${fmt(c.bytes)}) is the best smaller model of the role` };
  const fb = best.fallback === undefined ? undefined : all.find((c) => c.name === best.fallback);
  if (fb && fits(fb)) return { name: fb.name, reason: `role ${role}: ${why}, nor does a smaller model of the role; ${fb.name} is its stated fallback` };
  return { fitsNone: true, tried: [best.name, ...smaller.map((c) => c.name), ...(fb ? [fb.name] : [])] };
}
