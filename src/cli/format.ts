import type { NoKVStats } from "../sdk/index.ts";

// Human-readable renderings shared by the listing, stats and transfer commands.

const TYPE_CHAR: Record<string, string> = { dir: "d", symlink: "l", file: "-" };

/** `drwxr-xr-x`, as ls -l prints it. */
export function modeString(type: string, mode: number): string {
  const bits = "rwxrwxrwx";
  let out = TYPE_CHAR[type] ?? "?";
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : "-";
  return out;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 -> "1.5 KiB"; exact below 1 KiB. */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** "2m 05s", "1h 02m", "3.2s": for uptimes and durations. */
export function humanDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d ${String(Math.floor((s % 86_400) / 3600)).padStart(2, "0")}h`;
}

/** Local time to the minute, `2025-01-31 14:05`, as ls -l shows it. */
export function shortTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The fields of a stat result a script wants, with nanosecond times kept exact as strings. */
export function statsJson(path: string, s: NoKVStats, target?: string): Record<string, unknown> {
  return {
    path,
    type: s.type,
    inode: s.ino,
    mode: `0${(s.mode & 0o7777).toString(8)}`,
    sizeBytes: s.size,
    blocks: s.blocks,
    nlink: s.nlink,
    uid: s.uid,
    gid: s.gid,
    generation: s.generation,
    version: s.version,
    mtimeNs: s.mtimeNs.toString(),
    ctimeNs: s.ctimeNs.toString(),
    atimeNs: s.atimeNs.toString(),
    ...(target === undefined ? {} : { target }),
  };
}

/** Pads each column of `rows` to its widest cell; numeric columns (by index) align right. */
export function columns(rows: readonly string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join(" "),
  );
}
