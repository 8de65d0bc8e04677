// Cached answers under string keys, dropped by inode: a watch event names an inode, and dropping
// what it names must not walk every entry. Bounded by dropping everything at `maxEntries`: it
// happens once per maxEntries new keys, where evicting one key at a time from a Map's front costs
// JSC a walk over every slot deleted before it, on every insert once the cache is full.

export class InodeKeyedCache<V> {
  private readonly values = new Map<string, V>();
  /** The keys set under each inode (a key deleted or set again elsewhere may linger: it only over-drops). */
  private readonly keysOf = new Map<number, Set<string>>();

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.values.size;
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  set(key: string, inode: number, value: V): void {
    // The index may keep inodes whose keys were deleted: it starts over past maxEntries inodes too.
    if (!this.values.has(key) && (this.values.size >= this.maxEntries || this.keysOf.size >= this.maxEntries)) this.clear();
    this.values.set(key, value);
    let keys = this.keysOf.get(inode);
    if (!keys) this.keysOf.set(inode, (keys = new Set()));
    keys.add(key);
  }

  delete(key: string): void {
    this.values.delete(key);
  }

  /** Drops every key set under `inode`. */
  dropInode(inode: number): void {
    const keys = this.keysOf.get(inode);
    if (!keys) return;
    for (const key of keys) this.values.delete(key);
    this.keysOf.delete(inode);
  }

  clear(): void {
    this.values.clear();
    this.keysOf.clear();
  }
}
