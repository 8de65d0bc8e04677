// What a recursive transfer will do, worked out before anything moves, so the progress bar knows
// its total and a missing source fails before any remote or local change.

export interface PlannedFile {
  /** Path relative to the transfer root, "/"-separated ("" for a single-file transfer). */
  rel: string;
  sizeBytes: number;
  mode: number;
}

export interface TransferPlan {
  /** Directories to create, parents before children (relative, "" is the root). */
  dirs: string[];
  files: PlannedFile[];
  symlinks: Array<{ rel: string; target: string }>;
  totalBytes: number;
}

export function emptyPlan(): TransferPlan {
  return { dirs: [], files: [], symlinks: [], totalBytes: 0 };
}

export function joinRel(base: string, rel: string): string {
  if (rel === "") return base;
  return base.endsWith("/") ? `${base}${rel}` : `${base}/${rel}`;
}

/** Directories grouped by depth: each group can be created all at once once the previous exists. */
export function dirLevels(dirs: readonly string[]): string[][] {
  const levels: string[][] = [];
  for (const dir of dirs) {
    const depth = dir === "" ? 0 : dir.split("/").length;
    (levels[depth] ??= []).push(dir);
  }
  return levels.filter((level) => level !== undefined);
}

export interface TransferSummary {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  seconds: number;
}

export function summaryLine(verb: string, s: TransferSummary, human: (n: number) => string): string {
  const rate = s.seconds > 0 ? s.bytes / s.seconds : 0;
  return `${verb} ${s.files} ${s.files === 1 ? "file" : "files"}, ${s.dirs} ${s.dirs === 1 ? "directory" : "directories"}, ${s.symlinks} ${s.symlinks === 1 ? "symlink" : "symlinks"}, ${human(s.bytes)} in ${s.seconds.toFixed(2)}s (${human(rate)}/s)`;
}
