// One shard's command log in etcd. Appends are fenced: the transaction compares the shard's epoch
// and the leader key's lease with the writer's, and requires the entry's key to be new, so a
// deposed leader (paused past its lease, partitioned) can never add to the log. A command bigger
// than one etcd request goes to fragment keys first, each fenced, then its entry points at them;
// fragments carry the writer's epoch, so ones a dead leader left behind are never mistaken for a
// later leader's, and trimming removes them.
import type { EtcdClient, KeyValue, WatchEvent } from "./etcd/etcd-client.ts";
import { prefixEnd, utf8 } from "./etcd/etcd-client.ts";
import { decodeEntry, encodeEntry, needsFragments, type Fragments, type LogEntry, type StoredEntry } from "./entry-codec.ts";
import { FsError } from "../types/index.ts";
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
   * fence no longer holds or the position is taken. A single command too big for an etcd request
   * is written first as fragments (each fenced the same way), then referenced by its entry.
   */
  async append(fence: Fence, first: number, commands: Uint8Array[]): Promise<LogEntry> {
    const entry: LogEntry = { epoch: fence.epoch, first, last: first + commands.length - 1, commands };
    let fragments: Fragments | null = null;
    if (commands.length === 1 && needsFragments(commands[0]!)) fragments = await this.writeFragments(fence, first, commands[0]!);
    await this.fencedPut(fence, this.keys.entry(first), encodeEntry(entry, fragments), `position ${first} already in the log`);
    return entry;
  }

  private async writeFragments(fence: Fence, first: number, command: Uint8Array): Promise<Fragments> {
    const count = Math.ceil(command.byteLength / LIMITS.shardEntryMaxBytes);
    for (let index = 0; index < count; index++) {
      const part = command.subarray(index * LIMITS.shardEntryMaxBytes, (index + 1) * LIMITS.shardEntryMaxBytes);
      await this.fencedPut(fence, this.keys.fragment(first, fence.epoch, index), part, `fragment ${index} of position ${first} already written`);
    }
    return { count, sizeBytes: command.byteLength };
  }

  /** Puts a new key only while the fence holds; says why not otherwise. */
  private async fencedPut(fence: Fence, key: Uint8Array, value: Uint8Array, takenMessage: string): Promise<void> {
    const result = await this.client.txn(
      [
        { key: this.keys.epoch, target: "VALUE", value: utf8(String(fence.epoch)) },
        { key: this.keys.leader, target: "LEASE", number: fence.leaseId },
        { key, target: "CREATE", number: 0 },
      ],
      [{ put: { key, value } }],
      [{ range: { key } }, { range: { key: this.keys.epoch } }, { range: { key: this.keys.leader } }],
    );
    if (result.succeeded) return;
    const [existing, epochKv, leaderKv] = result.responses.map((r) => r.kvs?.[0]);
    // The client retries on another member after a timeout; the first try may have landed.
    if (existing && Buffer.compare(existing.value, value) === 0) return;
    const epochNow = decimal(epochKv);
    if (epochNow !== fence.epoch) throw new NotLeaderError(this.shard, `fenced: epoch ${fence.epoch} replaced by ${epochNow}`);
    if (leaderKv?.lease !== fence.leaseId) throw new NotLeaderError(this.shard, "leader lease expired");
    throw new NotLeaderError(this.shard, takenMessage);
  }

  /** A fragmented entry's command, joined from its fragments and checked against the entry. */
  async resolve(entry: StoredEntry): Promise<LogEntry> {
    if (!entry.fragments) return entry;
    const parts: Uint8Array[] = [];
    const prefix = this.keys.fragmentPrefix(entry.first, entry.epoch);
    while (parts.length < entry.fragments.count) {
      const page = await this.client.range(parts.length === 0 ? prefix : this.keys.fragment(entry.first, entry.epoch, parts.length), {
        rangeEnd: prefixEnd(prefix),
        limit: LIMITS.shardFragmentsPerRead,
      });
      if (page.kvs.length === 0) break;
      parts.push(...page.kvs.map((kv) => kv.value));
    }
    const command = Buffer.concat(parts);
    if (parts.length !== entry.fragments.count || command.byteLength !== entry.fragments.sizeBytes) {
      throw new FsError("EIO", `shard ${this.shard}: entry ${entry.first} has ${parts.length} fragments of ${command.byteLength} bytes, expected ${entry.fragments.count} of ${entry.fragments.sizeBytes}`);
    }
    return { epoch: entry.epoch, first: entry.first, last: entry.last, commands: [new Uint8Array(command.buffer, command.byteOffset, command.byteLength)] };
  }

  /**
   * Entries from position `from` on, in order, at most `limitEntries`. LogTrimmedError when the
   * log no longer starts at or before `from`.
   */
  async read(from: number, limitEntries: number = LIMITS.shardReadPageEntries): Promise<{ entries: LogEntry[]; revision: number }> {
    // The entry holding `from` starts at or before it; entries start at the position after the
    // previous one's last, so a replica that applied whole entries always asks for a first.
    const result = await this.client.range(this.keys.entry(from), { rangeEnd: prefixEnd(this.keys.logPrefix), limit: limitEntries });
    const stored = result.kvs.map((kv) => decodeEntry(kv.value, this.where(kv)));
    const entries: LogEntry[] = [];
    for (const entry of stored) entries.push(await this.resolve(entry));
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
        // Fragments of trimmed entries, and any a dead leader wrote for an entry it never added.
        { deleteRange: { key: this.keys.fragmentsPrefix, rangeEnd: this.keys.fragmentsBefore(through + 1) } },
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

  /**
   * The entry a watch event carries, or null when the event is not a log append. A fragmented
   * entry comes without its command: resolve() it, or read it.
   */
  entryOf(event: WatchEvent): StoredEntry | null {
    if (event.type !== "PUT" || !this.isLogKey(event.kv.key)) return null;
    return decodeEntry(event.kv.value, new TextDecoder().decode(event.kv.key));
  }

  private where(kv: KeyValue): string {
    return new TextDecoder().decode(kv.key);
  }
}

