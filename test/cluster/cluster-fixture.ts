// A 3-member etcd and three replicated metads for the cluster tests and the failover benchmark,
// plus the checks they share: which replica leads a mount, that every replica applied the same
// positions, that their tables hold the same rows, and fsck on a stopped replica's data.
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient, readLeader } from "../../src/cluster/index.ts";
import { EtcdCluster } from "../../src/cluster/testing/etcd-cluster.ts";
import { MetadProcess, clusterUrl } from "./metad-cluster.ts";

const FSCK = join(import.meta.dir, "../../src/cli/fsck.ts");

export class ClusterFixture {
  private constructor(
    readonly dir: string,
    readonly etcd: EtcdCluster,
    readonly client: EtcdClient,
    readonly replicas: MetadProcess[],
    readonly root: string,
  ) {}

  static async start(options: { replicas?: number; root?: string; extraArgs?: (i: number) => string[] } = {}): Promise<ClusterFixture> {
    const dir = mkdtempSync(join(tmpdir(), "nokv-cluster-"));
    const etcd = await EtcdCluster.start({ members: 3 });
    const root = options.root ?? "/nokv";
    const replicas = Array.from({ length: options.replicas ?? 3 }, (_, i) =>
      new MetadProcess({ replicaId: `r${i}`, etcd: etcd.endpoints, root, dataDir: join(dir, `r${i}`), objectsUrl: `file://${join(dir, "objects")}`, extraArgs: options.extraArgs?.(i) ?? [] }),
    );
    const fixture = new ClusterFixture(dir, etcd, new EtcdClient({ endpoints: etcd.endpoints }), replicas, root);
    try {
      await Promise.all(replicas.map((r) => r.start()));
      await Promise.all(replicas.map((r) => r.waitReady()));
    } catch (err) {
      await fixture.stop();
      throw err;
    }
    return fixture;
  }

  get url(): string {
    return clusterUrl(this.replicas);
  }

  /** The running replica etcd names as the mount's leader (waits through an election). */
  async leaderOf(mount: number, timeoutMs = 10_000): Promise<MetadProcess> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leader = await readLeader(this.client, this.root, mount).catch(() => null);
      const replica = leader && this.replicas.find((r) => r.replicaId === leader.replicaId && r.running);
      if (replica) return replica;
      if (Date.now() > deadline) throw new Error(`mount ${mount}: no live leader after ${timeoutMs} ms`);
      await Bun.sleep(50);
    }
  }

  /** Waits until every running replica reports the same version for every shard. */
  async waitConverged(timeoutMs = 20_000): Promise<Record<number, number>> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      const views = await Promise.all(this.replicas.filter((r) => r.running).map(async (r) => JSON.stringify((await r.stats()).shards)));
      if (views.every((v) => v === views[0])) {
        return Object.fromEntries((JSON.parse(views[0]!) as { shard: number; version: number }[]).map((s) => [s.shard, s.version]));
      }
      last = views.join(" | ");
      if (Date.now() > deadline) throw new Error(`replicas did not converge: ${last}`);
      await Bun.sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.stop().catch(() => undefined)));
    this.client.close();
    await this.etcd.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every table of a stopped replica's database, each row as JSON, ordered. */
export function tableRows(dataDir: string): Record<string, string[]> {
  const db = new Database(join(dataDir, "meta.db"), { readonly: true });
  try {
    const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
    const out: Record<string, string[]> = {};
    for (const { name } of tables) {
      const rows = db.query<Record<string, unknown>, []>(`SELECT * FROM "${name}"`).all();
      out[name] = rows.map((r) => JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("hex") : typeof v === "bigint" ? v.toString() : v))).sort();
    }
    return out;
  } finally {
    db.close();
  }
}

/** `nokv-fs fsck --json` on a stopped replica's data directory. */
export async function fsckReplica(replica: MetadProcess): Promise<{ exitCode: number; report: { ok: boolean; violations: unknown[] } | null; output: string }> {
  const proc = Bun.spawn([process.execPath, FSCK, "--data", replica.options.dataDir, "--objects", replica.options.objectsUrl, "--json"], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const exitCode = await proc.exited;
  let report = null;
  try {
    report = JSON.parse(out);
  } catch {
    report = null;
  }
  return { exitCode, report, output: out + err };
}
