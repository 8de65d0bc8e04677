// Results on disk: bench/results/<timestamp>-<profile>.json and .csv, with the machine, the Bun
// version and the git commit, so runs on different days and machines can be told apart.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, freemem, loadavg, release, totalmem, type as osType } from "node:os";
import { join } from "node:path";
import type { Measurement } from "../workloads/types.ts";

export interface Environment {
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memoryBytes: number; freeMemoryBytes: number; os: string; loadAverage1m: number };
  bunVersion: string;
  gitCommit: string;
  gitDirty: boolean;
}

export function environment(root: string): Environment {
  const git = (...args: string[]) => spawnSync("git", ["-C", root, ...args], { encoding: "utf8" }).stdout?.trim() ?? "";
  return {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryBytes: totalmem(),
      freeMemoryBytes: freemem(),
      os: `${osType()} ${release()} ${process.arch}`,
      loadAverage1m: loadavg()[0] ?? 0,
    },
    bunVersion: Bun.version,
    gitCommit: git("rev-parse", "HEAD") || "unknown",
    gitDirty: git("status", "--porcelain").length > 0,
  };
}

const CSV_COLUMNS = ["workload", "phase", "system", "name", "unit", "rate", "p50Us", "p99Us", "count", "note", "unavailable"] as const;

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Writes both files; returns their paths. */
export function writeResults(dir: string, meta: { profile: string; env: Environment; elapsedMs: number; workloads: string[]; warmUp: boolean; server: unknown }, rows: Measurement[]): { json: string; csv: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = meta.env.startedAt.replace(/[:.]/g, "-");
  const base = join(dir, `${stamp}-${meta.profile}`);
  writeFileSync(`${base}.json`, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  const header = `# profile=${meta.profile} commit=${meta.env.gitCommit}${meta.env.gitDirty ? "+dirty" : ""} bun=${meta.env.bunVersion} cpus=${meta.env.machine.cpus} memoryBytes=${meta.env.machine.memoryBytes} os=${meta.env.machine.os} warmUp=${meta.warmUp}`;
  const lines = rows.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(","));
  writeFileSync(`${base}.csv`, `${header}\n${CSV_COLUMNS.join(",")}\n${lines.join("\n")}\n`);
  return { json: `${base}.json`, csv: `${base}.csv` };
}
