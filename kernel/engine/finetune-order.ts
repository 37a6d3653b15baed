// The batch order of mlx-lm's iterate_batches (tuner/trainer.py) under lora.py's np.random.seed(seed):
// examples sorted (stably) by CacheDataset.itemlen, cut into batches, the batches shuffled each epoch
// with numpy's legacy RandomState.permutation. MT19937 and numpy's bounded draw are reproduced so the
// same data trains in the same order on both sides.

/** MT19937 as numpy's legacy seeding (init_genrand) has it. */
class MT19937 {
  private readonly mt = new Uint32Array(624);
  private i = 624;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let k = 1; k < 624; k++) {
      const prev = this.mt[k - 1]! ^ (this.mt[k - 1]! >>> 30);
      // 1812433253 * prev + k, in 32 bits
      this.mt[k] = (Math.imul(1812433253, prev) + k) >>> 0;
    }
  }

  next(): number {
    if (this.i >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (this.mt[k]! & 0x80000000) | (this.mt[(k + 1) % 624]! & 0x7fffffff);
        this.mt[k] = (this.mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0;
      }
      this.i = 0;
    }
    let y = this.mt[this.i++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy random_interval(max): masked rejection sampling (max < 2^32). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.next() & mask) >>> 0;
    while (v > max);
    return v;
  }

  /** RandomState.permutation(n): arange(n) shuffled from the end. */
  permutation(n: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i >= 1; i--) {
      const j = this.interval(i);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }
}

/** iterate_batches' batches: indices sorted (stably) by `sortKeys`, cut into whole batches. */
function makeBatches(sortKeys: number[], batchSize: number): number[][] {
  const idx = sortKeys.map((_, i) => i).sort((a, b) => sortKeys[a]! - sortKeys[b]! || a - b);
  const batches: number[][] = [];
  for (let i = 0; i + batchSize <= idx.length; i += batchSize) batches.push(idx.slice(i, i + batchSize));
  return batches;
}

/**
 * iters * batchSize example indices. `sortKeys[i]` is what iterate_batches sorts by (mlx-lm's
 * CacheDataset.itemlen is len() of the raw JSON record, i.e. its number of keys).
 */
export function batchSchedule(sortKeys: number[], batchSize: number, iters: number, seed: number): number[] {
  return trainingOrder(sortKeys, batchSize, iters, seed).train;
}

export interface ValidationPlan {
  /** iterate_batches' sort keys of the validation examples */
  sortKeys: number[];
  /** mlx-lm --val-batches: batches per evaluation, -1 = all */
  valBatches: number;
  /** mlx-lm --steps-per-eval */
  stepsPerEval: number;
}

export interface Evaluation {
  /** evaluated before this training step (1 = the untrained adapter), as trainer.train does */
  step: number;
  /** validation example indices of each batch, in evaluation order */
  batches: number[][];
}

/**
 * The training batches, and with a validation set the batches of each evaluation, in mlx-lm's order.
 * trainer.train's evaluate() iterates the validation set with the same global numpy RNG the training
 * iterator shuffles with, so each evaluation's permutation is drawn between the training epochs'.
 * The training iterator draws an epoch's permutation when it fetches that epoch's first batch, which
 * happens before the evaluation of the same step.
 */
export function trainingOrder(sortKeys: number[], batchSize: number, iters: number, seed: number, val?: ValidationPlan): { train: number[]; evals: Evaluation[] } {
  if (sortKeys.length < batchSize) throw new Error(`the data has ${sortKeys.length} examples, fewer than the batch size ${batchSize}`);
  const batches = makeBatches(sortKeys, batchSize);
  const valBatches = val ? makeBatches(val.sortKeys, batchSize) : [];
  if (val && !valBatches.length) throw new Error(`the validation data has ${val.sortKeys.length} examples, fewer than the batch size ${batchSize}`);
  const rng = new MT19937(seed);
  const train: number[] = [];
  const evals: Evaluation[] = [];
  let epoch: number[] = [];
  for (let it = 1; it <= iters; it++) {
    if (!epoch.length) epoch = rng.permutation(batches.length);
    train.push(...batches[epoch.shift()!]!);
    if (val && val.valBatches !== 0 && (it === 1 || it % val.stepsPerEval === 0 || it === iters)) {
      const n = val.valBatches < 0 ? valBatches.length : Math.min(val.valBatches, valBatches.length);
      evals.push({ step: it, batches: rng.permutation(valBatches.length).slice(0, n).map((b) => valBatches[b]!) });
    }
  }
  return { train, evals };
}
