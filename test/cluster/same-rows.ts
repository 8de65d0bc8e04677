// The replica comparison the cluster tests share (kept apart so the benchmark can use the fixture).
import { expect } from "bun:test";

/**
 * Every replica holds the same rows in every table. A table one replica lacks counts as empty:
 * opening a database re-creates the long-dropped path_index (empty) from the v1 DDL, so a
 * replica restarted during a test has it and one never restarted does not.
 */
export function expectSameRows(tables: Record<string, string[]>[]): void {
  const names = [...new Set(tables.flatMap((t) => Object.keys(t)))].sort();
  for (const t of tables.slice(1)) {
    for (const name of names) expect({ name, rows: t[name] ?? [] }).toEqual({ name, rows: tables[0]![name] ?? [] });
  }
}

