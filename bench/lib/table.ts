// The one table the harness prints: a line per workload phase with NoKV's figures, its floors
// and the peer side by side, each with NoKV's ratio to it; published anchors below it.
import type { Measurement } from "../workloads/types.ts";

const ANCHORS = [
  "reference NoKV (Rust): ~127K creates/s batched (long mdtest-easy create, one writer), ~1.1 GB/s checkpoint publish,",
  "  ~3,000 samples/s of 16 KiB, ~1.5 KB resident per file",
  "JuiceFS on Redis: create ~455-570 µs, getattr ~86 µs, readdir of 1,000 ~1.5 ms per op",
];

function fmtRate(x: number): string {
  if (x >= 100) return Math.round(x).toLocaleString("en-US");
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function fmtUs(us: number | null): string {
  if (us === null) return "";
  if (us >= 10_000) return `${(us / 1000).toFixed(0)} ms`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)} ms`;
  return `${us.toFixed(us >= 100 ? 0 : 1)} µs`;
}

/** NoKV's figure over the other's, so >1 means NoKV is better (for bytes/file, smaller is better). */
function ratio(nokv: Measurement, other: Measurement): string {
  if (other.unavailable || nokv.unavailable || other.rate === 0 || nokv.rate === 0) return "";
  const r = nokv.unit === "bytes/file" ? other.rate / nokv.rate : nokv.rate / other.rate;
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}x`;
}

function cell(row: Measurement | undefined, nokv: Measurement | undefined, withLatency: boolean): string[] {
  if (!row) return withLatency ? ["", "", "", ""] : ["", ""];
  if (row.unavailable) return withLatency ? [`unavailable: ${row.unavailable}`, "", "", ""] : ["unavailable", ""];
  const figures = [fmtRate(row.rate), ...(withLatency ? [fmtUs(row.p50Us), fmtUs(row.p99Us)] : [])];
  return [...figures, nokv ? ratio(nokv, row) : ""];
}

export function printTable(title: string, rows: Measurement[]): void {
  const header = ["workload", "phase", "unit", "NoKV", "p50", "p99", "store/disk floor", "NoKV/floor", "echo floor", "NoKV/echo", "AgentFS", "p50", "p99", "NoKV/AgentFS"];
  const keys: string[] = [];
  for (const r of rows) {
    const key = `${r.workload}\u0000${r.phase}`;
    if (!keys.includes(key)) keys.push(key);
  }
  const lines: string[][] = [];
  const notes: string[] = [];
  for (const key of keys) {
    const [workload, phase] = key.split("\u0000") as [string, string];
    const group = rows.filter((r) => r.workload === workload && r.phase === phase);
    const nokv = group.find((r) => r.system === "nokv");
    const store = group.find((r) => r.system === "store floor");
    const echo = group.find((r) => r.system === "transport floor");
    const peer = group.find((r) => r.system === "peer");
    const unit = (nokv ?? store ?? peer ?? group[0]!).unit;
    const nokvCells = nokv ? [fmtRate(nokv.rate), fmtUs(nokv.p50Us), fmtUs(nokv.p99Us)] : ["", "", ""];
    lines.push([workload, phase, unit, ...nokvCells, ...cell(store, nokv, false), ...cell(echo, nokv, false), ...cell(peer, nokv, true)]);
    for (const r of group) if (r.note) notes.push(`${workload} / ${phase} / ${r.name}: ${r.note}`);
    for (const r of [store, echo]) if (r && !notes.some((n) => n.endsWith(`= ${r.name}`))) notes.push(`${workload} / ${phase}: ${r.system} = ${r.name}`);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const left = new Set([0, 1, 2]);
  const pad = (cells: string[]) => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  console.log(`\n${title}`);
  console.log(pad(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  let last = "";
  for (const l of lines) {
    const shown = l[0] === last ? ["", ...l.slice(1)] : l;
    last = l[0]!;
    console.log(pad(shown));
  }
  console.log("\nratios are NoKV over the other (above 1: NoKV faster, or smaller for bytes/file); p50/p99 per call");
  console.log("\nfloors and notes:");
  for (const n of notes) console.log(`  ${n}`);
  console.log("\npublished anchors (not measured here, for context):");
  for (const a of ANCHORS) console.log(`  ${a}`);
}
