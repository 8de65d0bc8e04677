import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { EtcdClient, prefixEnd, utf8 } from "./etcd/etcd-client.ts";
import { LogTrimmedError, NotLeaderError } from "./errors.ts";
import { ShardLog } from "./shard-log.ts";
import { EtcdCluster, etcdSkipReason } from "./testing/etcd-cluster.ts";
import { splitIntoEntries } from "./entry-codec.ts";
import { LIMITS } from "../types/limits.ts";

const skip = etcdSkipReason();
if (skip) console.log(`skip shard log tests: ${skip}`);

const commands = (count: number, sizeBytes = 16, seed = 0) =>
  Array.from({ length: count }, (_, i) => new Uint8Array(sizeBytes).fill((seed + i) % 251));

/** Takes leadership the way a replica does, so appends have a fence to present. */
async function lead(client: EtcdClient, log: ShardLog, epoch: number): Promise<{ epoch: number; leaseId: string }> {
  const leaseId = await client.leaseGrant(LIMITS.leaderLeaseTtlS);
  await client.put(log.keys.epoch, utf8(String(epoch)));
  await client.put(log.keys.leader, utf8("{}"), leaseId);
  return { epoch, leaseId };
}

describe.skipIf(skip !== null)("shard log in etcd", () => {
  let cluster: EtcdCluster;
  let client: EtcdClient;
  beforeAll(async () => {
    cluster = await EtcdCluster.start({ members: 3 });
    client = new EtcdClient({ endpoints: cluster.endpoints });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await cluster?.stop();
  }, 30_000); // stopping etcd members and replica processes takes seconds on a loaded machine

  test("entries append in order, read back from any position, and join", async () => {
    const log = new ShardLog(client, "/t-append", 1);
    const fence = await lead(client, log, 1);
    await log.append(fence, 1, commands(3));
    await log.append(fence, 4, commands(2, 16, 3));
    expect((await log.tail()).last).toBe(5);
    const { entries } = await log.read(1);
    expect(entries.map((e) => [e.first, e.last, e.epoch])).toEqual([[1, 3, 1], [4, 5, 1]]);
    expect(entries[1]!.commands[1]).toEqual(commands(1, 16, 4)[0]!);
    expect((await log.read(4)).entries.map((e) => e.first)).toEqual([4]);
    expect((await log.read(6)).entries).toEqual([]);
  });

  test("a taken position, an old epoch and an expired lease are all refused", async () => {
    const log = new ShardLog(client, "/t-fence", 2);
    const old = await lead(client, log, 1);
    await log.append(old, 1, commands(1));
    await expect(log.append(old, 1, commands(1, 16, 9))).rejects.toThrow(/position 1 already in the log/);
    const next = await lead(client, log, 2);
    await expect(log.append(old, 2, commands(1))).rejects.toBeInstanceOf(NotLeaderError);
    await expect(log.append({ epoch: 2, leaseId: old.leaseId }, 2, commands(1))).rejects.toThrow(/lease/);
    await log.append(next, 2, commands(1));
    await client.leaseRevoke(next.leaseId);
    await expect(log.append(next, 3, commands(1))).rejects.toThrow(/leader lease expired/);
    expect((await log.tail()).last).toBe(2);
  });

  test("trim removes whole entries behind a boundary; reading behind it says to restore", async () => {
    const log = new ShardLog(client, "/t-trim", 3);
    const fence = await lead(client, log, 1);
    for (let first = 1; first <= 10; first += 2) await log.append(fence, first, commands(2));
    expect(await log.trim(4)).toBe(2);
    await expect(log.trim(5)).rejects.toThrow(/splits entry 5..6/);
    expect((await log.read(5)).entries[0]!.first).toBe(5);
    const err = await log.read(3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogTrimmedError);
    expect(String(err)).toMatch(/trimmed through position 4/);
    await log.trim(10);
    // A fully trimmed log still knows its tail, so positions never restart.
    expect(await log.tail()).toMatchObject({ last: 10, trimmedThrough: 10 });
  });

  test("a group too big for one request is split into entries that each fit; a command above the limit is EFBIG", async () => {
    const log = new ShardLog(client, "/t-split", 4);
    const fence = await lead(client, log, 1);
    const group = commands(12, 256 * 1024);
    const runs = splitIntoEntries(group);
    expect(runs.length).toBeGreaterThan(1);
    let first = 1;
    for (const run of runs) {
      await log.append(fence, first, run);
      first += run.length;
    }
    expect((await log.tail()).last).toBe(12);
    expect(() => splitIntoEntries([new Uint8Array(LIMITS.shardCommandMaxBytes + 1)])).toThrow(/EFBIG.*holds at most/);
    expect(splitIntoEntries(commands(LIMITS.shardEntryMaxCommands + 1)).map((r) => r.length)).toEqual([LIMITS.shardEntryMaxCommands, 1]);
  });

  test("a command bigger than an etcd request is written in fenced fragments and read back whole", async () => {
    const log = new ShardLog(client, "/t-frag", 7);
    const fence = await lead(client, log, 1);
    const big = new Uint8Array(4 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    const runs = splitIntoEntries([...commands(2), big, ...commands(3)]);
    expect(runs.map((r) => r.length)).toEqual([2, 1, 3]);
    let first = 1;
    for (const run of runs) {
      await log.append(fence, first, run);
      first += run.length;
    }
    const { entries } = await log.read(1);
    expect(entries.map((e) => [e.first, e.last])).toEqual([[1, 2], [3, 3], [4, 6]]);
    expect(Buffer.compare(entries[1]!.commands[0]!, big)).toBe(0);
    // A deposed leader cannot write fragments either.
    const next = await lead(client, log, 2);
    await expect(log.append(fence, 7, [big])).rejects.toBeInstanceOf(NotLeaderError);
    await log.append(next, 7, commands(1));
    // Trimming takes the fragments with their entries.
    await log.trim(3);
    const left = await client.range(log.keys.fragmentsPrefix, { rangeEnd: prefixEnd(log.keys.fragmentsPrefix), countOnly: true });
    expect(left.count).toBe(0);
  });

  test("a watcher sees appends as they land", async () => {
    const log = new ShardLog(client, "/t-watch", 5);
    const fence = await lead(client, log, 1);
    const { revision } = await log.tail();
    const abort = new AbortController();
    const seen: number[] = [];
    const watching = (async () => {
      for await (const events of log.watch(revision + 1, abort.signal)) {
        for (const event of events) {
          const entry = log.entryOf(event);
          if (entry) seen.push(entry.first);
        }
        if (seen.length >= 3) abort.abort();
      }
    })();
    for (let first = 1; first <= 3; first++) await log.append(fence, first, commands(1));
    await watching;
    expect(seen).toEqual([1, 2, 3]);
  });
});
