// What the replication layer needs from the metadata core. The core is a deterministic state
// machine per shard (a shard is a mount): applying the same log to the same state yields the same
// rows on every replica. One database holds every shard a replica serves, so checkpoint and
// restore cover all of them at once, each shard with its own applied position.

/** One committed log entry: command i has position first + i (its commit version). */
export interface AppliedEntry {
  first: number;
  last: number;
  /** Opaque to this layer: the core's encoded commands (msgpack), one per position. */
  commands: readonly Uint8Array[];
}

export interface ShardStateMachine {
  /** Last log position applied for this shard (0 = nothing applied yet). */
  appliedPosition(shard: number): number;
  /**
   * Applies one committed entry; entry.first is always appliedPosition(shard) + 1. Deterministic
   * (no clock, no randomness), and durable with the new applied position in one transaction.
   * Throws only on a broken invariant: the replica then stops rather than diverge.
   */
  applyEntry(shard: number, entry: AppliedEntry): void;
  /**
   * Writes a consistent copy of the whole database to `path` (VACUUM INTO or the backup API) and
   * returns each shard's applied position in that copy.
   */
  checkpoint(path: string): Record<number, number>;
  /** Replaces the whole database with a checkpoint file written by checkpoint(). */
  restore(path: string): void;
}
