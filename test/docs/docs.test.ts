import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { renderMetrics, ObjectStoreErrorCounts } from "../../src/server/metrics.ts";
import { ServerStats } from "../../src/server/stats.ts";
import { LIMITS } from "../../src/types/index.ts";

// The documents stand alone: every link resolves inside the repository, and what they name
// (limits keys, metrics, routes) is what the code has.

const ROOT = join(import.meta.dir, "..", "..");
const DOCS = ["README.md", "python/README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (f: string) => readFileSync(join(ROOT, f), "utf8");

test("every relative link in the docs points at a file inside the repository", () => {
  const broken: string[] = [];
  for (const doc of DOCS) {
    for (const [, target] of read(doc).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!) || target!.startsWith("#")) continue;
      const path = resolve(dirname(join(ROOT, doc)), target!.split("#")[0]!);
      if (relative(ROOT, path).startsWith("..") || !existsSync(path)) broken.push(`${doc}: ${target}`);
    }
    // Nothing refers to files next to the repository.
    if (/\.\.\/shared|DESIGN\.md/.test(read(doc))) broken.push(`${doc}: names a file outside the repository`);
  }
  expect(broken).toEqual([]);
});

test("the wire protocol names what a client writer needs", () => {
  const wire = read("docs/wire-protocol.md");
  for (const topic of ["root directory is inode 1", "Batches are exactly-once per sub-request", "absolute paths", "Lifetime.", "`kind` is a **string**", "4294967295", "**`limits`**"]) {
    expect(wire).toContain(topic);
  }
  const table = wire.slice(wire.indexOf("**`limits`**")).split("\n\n")[1]!;
  const firstCells = table.split("\n").map((row) => /^\| ([^|]+) \|/.exec(row)?.[1] ?? "");
  const keys = firstCells.flatMap((cell) => [...cell.matchAll(/`([a-zA-Z]+)`/g)].map((m) => m[1]!));
  expect(keys.length).toBeGreaterThan(10);
  for (const key of keys) expect(Object.hasOwn(LIMITS, key)).toBe(true);
});

test("operations covers security, availability, upkeep and upgrades, and its metrics exist", () => {
  const ops = read("docs/operations.md");
  for (const heading of ["## Security model", "## Availability", "## SQLite upkeep: WAL and VACUUM", "## Upgrades", "## /metrics (Prometheus)", "## Logs"]) expect(ops).toContain(heading);
  for (const permission of ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]) expect(ops).toContain(permission);
  const dir = mkdtempSync(join(tmpdir(), "nokv-docs-"));
  try {
    const stats = new ServerStats();
    stats.recordOp("stat_path", 120, false);
    const rendered = renderMetrics({ stats, writes: { commits: 1 } as never, shards: [{ shard: 0, version: 1 }], dataDir: dir, objectStoreErrors: new ObjectStoreErrorCounts() });
    const table = ops.slice(ops.indexOf("## /metrics"), ops.indexOf("## Logs"));
    const named = [...table.matchAll(/`(nokv_[a-z_]+)`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(15);
    for (const name of named) expect(rendered).toContain(`# TYPE ${name} `);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
