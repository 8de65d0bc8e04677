// A replica as its own process, for tests that kill -9, SIGSTOP and SIGCONT it. Runs a Replica
// over a SqliteStateMachine and, while it leads a shard, appends groups of commands named
// "<replica>:<shard>:<n>" in a loop. Reports on stdout, one JSON line each:
//   {"ev":"leader","shard","epoch","atMs"}  {"ev":"ack","shard","first","last","atMs"}
//   {"ev":"refused","shard","message","atMs"}  {"ev":"error","message"}
// Usage: bun replica-main.ts '<json ReplicaMainArgs>'
import { NotLeaderError } from "../errors.ts";
import { Replica } from "../replica.ts";
import { SqliteStateMachine } from "./sqlite-state-machine.ts";

export interface ReplicaMainArgs {
  endpoints: string[];
  root: string;
  replicaId: string;
  dbPath: string;
  shards: number[];
  /** Commands per appended group; 0: follow and lead but never write. */
  groupSize: number;
  /** Pause between groups, so a test's children leave the machine some air. */
  groupIntervalMs: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as ReplicaMainArgs;
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);
const sm = new SqliteStateMachine(args.dbPath);
const replica = await Replica.start({
  etcd: args.endpoints,
  root: args.root,
  replicaId: args.replicaId,
  address: `${args.replicaId}.test:0`,
  stateMachine: sm,
  shards: args.shards,
  onError: (err) => say({ ev: "error", message: String(err), atMs: Date.now() }),
});
say({ ev: "started", replicaId: args.replicaId });

let running = true;
process.on("SIGTERM", () => {
  running = false;
});

async function writeLoop(shard: number): Promise<void> {
  let n = 0;
  let leading = false;
  while (running) {
    const s = replica.shard(shard);
    if (s.role !== "leader") {
      leading = false;
      await Bun.sleep(5);
      continue;
    }
    if (!leading) say({ ev: "leader", shard, epoch: s.epoch, atMs: Date.now() });
    leading = true;
    if (args.groupSize === 0) {
      await Bun.sleep(20);
      continue;
    }
    const group = Array.from({ length: args.groupSize }, () => new TextEncoder().encode(`${args.replicaId}:${shard}:${n++}`));
    try {
      const { first, last } = await replica.propose(shard, group);
      say({ ev: "ack", shard, first, last, atMs: Date.now() });
    } catch (err) {
      say({ ev: "refused", shard, message: String(err), committed: err instanceof NotLeaderError ? err.committedCount : 0, atMs: Date.now() });
      await Bun.sleep(5);
    }
    if (args.groupIntervalMs > 0) await Bun.sleep(args.groupIntervalMs);
  }
}

await Promise.all(args.shards.map((shard) => writeLoop(shard)));
await replica.stop();
sm.close();
say({ ev: "stopped" });
process.exit(0);
