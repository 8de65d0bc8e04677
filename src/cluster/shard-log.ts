// One shard's command log in etcd. Appends are fenced: the transaction compares the shard's epoch
// and the leader key's lease with the writer's, and requires the entry's key to be new, so a
// deposed leader (paused past its lease, partitioned) can never add to the log.
import type { EtcdClient, KeyValue, WatchEvent } from "./etcd/etcd-client.ts";
import { prefixEnd, utf8 } from "./etcd/etcd-client.ts";
import { decodeEntry, encodeEntry, type LogEntry } from "./entry-codec.ts";
import { LogTrimmedError, NotLeaderError } from "./errors.ts";
import { ShardKeys } from "./keys.ts";
import { LIMITS } from "../types/limits.ts";

/** What a leader presents on every append. */
export interface Fence {
  epoch: number;
  leaseId: string;
}

const decimal = (kv: KeyValue | null | undefined): number => (kv ? Number(new TextDecoder().decode(kv.value)) : 0);

export class ShardLog {
  readonly keys: ShardKeys;

  constructor(
    readonly client: EtcdClient,
    root: string,
    readonly shard: number,
  ) {
    this.keys = new ShardKeys(root, shard);
  }

  /** The last position in the log (0 when empty) and the position it was trimmed through. */
  async tail(): Promise<{ last: number; trimmedThrough: number; revision: number }> {
    const [last, trimmed] = await Promise.all([
      this.client.range(this.keys.logPrefix, { rangeEnd: prefixEnd(this.keys.logPrefix), limit: 1, descending: true }),
      this.client.get(this.keys.trimmed),
    ]);
    const lastEntry = last.kvs[0] ? decodeEntry(last.kvs[0].value, this.where(last.kvs[0])) : null;
    const trimmedThrough = decimal(trimmed);
    return { last: Math.max(lastEntry?.last ?? 0, trimmedThrough), trimmedThrough, revision: last.revision };
  }

  /**
   * Appends one entry at `first`. Resolves once etcd has accepted it; NotLeaderError when the
   * fence no longer holds or the position is taken.
   */
  async append(fence: Fence, first: number, commands: Uint8Array[]): Promise<LogEntry> {
    const entry: LogEntry = { epoch: fence.epoch, first, last: first + commands.length - 1, commands };
    const key = this.keys.entry(first);
    const value = encodeEntry(entry);
    const result = await this.client.txn(
      [
        { key: this.keys.epoch, target: "VALUE", value: utf8(String(fence.epoch)) },
        { key: this.keys.leader, target: "LEASE", number: fence.leaseId },
        { key, target: "CREATE", number: 0 },
      ],
      [{ put: { key, value } }],
      [{ range: { key } }, { range: { key: this.keys.epoch } }, { range: { key: this.keys.leader } }],
    );
    if (result.succeeded) return entry;
    const [existing, epochKv, leaderKv] = result.responses.map((r) => r.kvs?.[0]);
    // The client retries on another member after a timeout; the first try may have landed.
    if (existing && Buffer.compare(existing.value, value) === 0) return entry;
    const epochNow = decimal(epochKv);
    if (epochNow !== fence.epoch) throw new NotLeaderError(this.shard, `fenced: epoch ${fence.epoch} replaced by ${epochNow}`);
    if (leaderKv?.lease !== fence.leaseId) throw new NotLeaderError(this.shard, "leader lease expired");
    throw new NotLeaderError(this.shard, `position ${first} already in the log`);
  }

  /**
   * Entries from position `from` on, in order, at most `limitEntries`. LogTrimmedError when the
   * log no longer starts at or before `from`.
   */
  async read(from: number, limitEntries: number = LIMITS.shardReadPageEntries): Promise<{ entries: LogEntry[]; revision: number }> {
    // The entry holding `from` starts at or before it; entries start at the position after the
    // previous one's last, so a replica that applied whole entries always asks for a first.
    const result = await this.client.range(this.keys.entry(from), { rangeEnd: prefixEnd(this.keys.logPrefix), limit: limitEntries });
    const entries = result.kvs.map((kv) => decodeEntry(kv.value, this.where(kv)));
    if (entries.length > 0 && entries[0]!.first !== from) {
      const trimmedThrough = decimal(await this.client.get(this.keys.trimmed));
      if (trimmedThrough >= from) throw new LogTrimmedError(this.shard, from, trimmedThrough);
      throw new Error(`shard ${this.shard}: log has a gap: position ${from} missing before entry ${entries[0]!.first}`);
    }
    if (entries.length === 0) {
      const trimmedThrough = decimal(await this.client.get(this.keys.trimmed));
      if (trimmedThrough >= from) throw new LogTrimmedError(this.shard, from, trimmedThrough);
    }
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.first !== entries[i - 1]!.last + 1) throw new Error(`shard ${this.shard}: log entries ${entries[i - 1]!.first} and ${entries[i]!.first} do not join`);
    }
    return { entries, revision: result.revision };
  }

  /**
   * Deletes the entries that end at or before `through` and records the trim point, in one txn.
   * `through` must be an entry boundary (a replica's applied position always is).
   */
  async trim(through: number): Promise<number> {
    const { trimmedThrough } = await this.tail();
    if (through <= trimmedThrough) return 0;
    const holding = await this.client.range(this.keys.logPrefix, { rangeEnd: this.keys.entry(through + 1), limit: 1, descending: true });
    const last = holding.kvs[0] ? decodeEntry(holding.kvs[0].value, this.where(holding.kvs[0])) : null;
    if (last && last.last > through) throw new Error(`shard ${this.shard}: trim at ${through} splits entry ${last.first}..${last.last}`);
    const result = await this.client.txn(
      [],
      [
        { deleteRange: { key: this.keys.logPrefix, rangeEnd: this.keys.entry(through + 1) } },
        { put: { key: this.keys.trimmed, value: utf8(String(through)) } },
      ],
    );
    return result.responses[0]?.deleted ?? 0;
  }

  /** Everything under the shard's prefix (log entries, leader changes) from `startRevision` on. */
  watch(startRevision: number, signal: AbortSignal): AsyncGenerator<WatchEvent[]> {
    return this.client.watch(this.keys.prefix, { rangeEnd: prefixEnd(this.keys.prefix), startRevision, signal });
  }

  isLogKey(key: Uint8Array): boolean {
    const prefix = this.keys.logPrefix;
    return key.byteLength > prefix.byteLength && Buffer.compare(key.subarray(0, prefix.byteLength), prefix) === 0;
  }

  /** The entry a watch event carries, or null when the event is not a log append. */
  entryOf(event: WatchEvent): LogEntry | null {
    if (event.type !== "PUT" || !this.isLogKey(event.kv.key)) return null;
    return decodeEntry(event.kv.value, new TextDecoder().decode(event.kv.key));
  }

  private where(kv: KeyValue): string {
    return new TextDecoder().decode(kv.key);
  }
}

