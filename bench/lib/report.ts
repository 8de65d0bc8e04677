// Turns mitata trials into the figures the project reports: items/s, per-item latency
// percentiles, and the ratio to a floor measured in the same run.

export interface Row {
  name: string;
  /** Items one iteration does (256 for a batch of 256 creates). */
  itemsPerIter: number;
  itemsPerSec: number;
  iterP50Us: number;
  iterP99Us: number;
  /** Name of the floor row this one is compared with. */
  floor?: string;
  ratioToFloor?: number;
}

interface Trial {
  alias: string;
  runs: Array<{ stats?: { avg: number; p50: number; p99: number } }>;
}

/** Rows from trials; `plan` maps a bench name to its items per iteration and optional floor. */
export function rowsFrom(trials: Trial[], plan: Record<string, { items: number; floor?: string }>): Row[] {
  const rows: Row[] = [];
  for (const trial of trials) {
    const stats = trial.runs[0]?.stats;
    const entry = plan[trial.alias];
    if (!stats || !entry) continue;
    const row: Row = {
      name: trial.alias,
      itemsPerIter: entry.items,
      itemsPerSec: (entry.items * 1e9) / stats.avg,
      iterP50Us: stats.p50 / 1e3,
      iterP99Us: stats.p99 / 1e3,
    };
    if (entry.floor) row.floor = entry.floor;
    rows.push(row);
  }
  for (const row of rows) {
    const floor = rows.find((r) => r.name === row.floor);
    if (floor) row.ratioToFloor = row.itemsPerSec / floor.itemsPerSec;
  }
  return rows;
}

export function printRows(title: string, rows: Row[]): void {
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));
  console.log(`\n${title}`);
  const header = ["benchmark", "items/iter", "items/s", "iter p50 µs", "iter p99 µs", "vs floor"];
  const lines = rows.map((r) => [
    r.name, String(r.itemsPerIter), fmt(r.itemsPerSec), fmt(r.iterP50Us), fmt(r.iterP99Us),
    r.ratioToFloor === undefined ? "" : `${(r.ratioToFloor * 100).toFixed(0)}% of ${r.floor}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const pad = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(pad(header));
  for (const l of lines) console.log(pad(l));
}
