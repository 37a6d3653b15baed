// A map that keeps its most recently used entries up to a size: the session's caches of transpiled cells
// and decoded source maps.
export class Lru<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  /** The value for `key`, made by `make` when missing; `store: false` hands it out without keeping it. */
  get(key: K, make: () => V, store = true): V {
    let v = this.entries.get(key);
    if (v !== undefined) this.entries.delete(key);
    else {
      v = make();
      if (!store) return v;
    }
    this.entries.set(key, v);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    return v;
  }
}
