// A map that keeps its most recently used `capacity` entries: the runtime's caches
// (pipelines per device, compiled WebGL programs, recent run durations) are bounded by
// it, so an app that compiles thousands of distinct programs does not grow without end
// (10 000 random programs on lavapipe held ~2.7 MB of compiled pipelines each, unbounded).

export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  /** `evicted` is called with each entry pushed out (to free what it holds). */
  constructor(readonly capacity: number, private readonly evicted: (value: V, key: K) => void = () => undefined) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key); // re-inserted: most recently used last
      this.entries.set(key, v);
    }
    return v;
  }

  /** Set `key` (the most recently used), evicting the least recently used past the capacity. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const [oldKey, old] = this.entries.entries().next().value as [K, V];
      this.entries.delete(oldKey);
      this.evicted(old, oldKey);
    }
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Forget every entry, each passed to `evicted`. */
  clear(): void {
    const all = [...this.entries];
    this.entries.clear();
    for (const [k, v] of all) this.evicted(v, k);
  }
}
