import { FsError, type Version } from "../../types/index.ts";
import type { DentryKey, Predicate } from "../command.ts";
import type { WriteCounters } from "../store.ts";
import type { Statements } from "./statements.ts";

// A command's predicates, checked against the current rows before any of its writes: a failed one
// means the command applied nothing, so it needs no rollback.

/** A predicate failure: the command applied nothing. The errno is the caller's to report. */
export class PredicateFailed extends FsError {
  constructor(readonly predicate: Predicate, readonly index: number) {
    super(predicate.errno, predicate.detail ?? `${predicate.kind} failed on ${predicate.target.family}`);
  }
}

/** Names one dentry query checks at once (see checkAbsentNames); statements.ts has its IN list. */
const ABSENT_NAMES_CHUNK = 64;

/** How many predicates from `start` are notExists on a dentry of the same directory. */
function absentNamesRun(predicates: readonly Predicate[], start: number): number {
  const first = predicates[start]!;
  if (first.kind !== "notExists" || first.target.family !== "dentry") return 0;
  const { mount, parent } = first.target.key;
  let end = start + 1;
  while (end < predicates.length) {
    const p = predicates[end]!;
    if (p.kind !== "notExists" || p.target.family !== "dentry" || p.target.key.mount !== mount || p.target.key.parent !== parent) break;
    end++;
  }
  return end - start;
}

export function checkPredicates(s: Statements, counters: WriteCounters, predicates: readonly Predicate[]): void {
  for (let i = 0; i < predicates.length; ) {
    const run = absentNamesRun(predicates, i);
    if (run >= ABSENT_NAMES_CHUNK / 4) {
      checkAbsentNames(s, counters, predicates, i, run);
      i += run;
      continue;
    }
    const p = predicates[i]!;
    counters.predicatesChecked++;
    if (!predicateHolds(s, p)) {
      counters.commandsRejected++;
      throw new PredicateFailed(p, i);
    }
    i++;
  }
}

/**
 * `count` notExists predicates on names of one directory (a create of many files), checked
 * ABSENT_NAMES_CHUNK names per query instead of one query each; the first that fails is reported,
 * as the one-by-one check would.
 */
function checkAbsentNames(s: Statements, counters: WriteCounters, predicates: readonly Predicate[], start: number, count: number): void {
  const first = predicates[start]!.target.key as DentryKey;
  const found = new Set<string>();
  const names: unknown[] = new Array(ABSENT_NAMES_CHUNK + 2);
  names[0] = first.mount;
  names[1] = first.parent;
  for (let at = start; at < start + count; at += ABSENT_NAMES_CHUNK) {
    const end = Math.min(at + ABSENT_NAMES_CHUNK, start + count);
    // A short last chunk repeats its last name: IN ignores duplicates, one statement serves all.
    for (let j = 0; j < ABSENT_NAMES_CHUNK; j++) names[2 + j] = (predicates[Math.min(at + j, end - 1)]!.target.key as DentryKey).name;
    for (const row of s.dentryAnyOf.values(...(names as [number])) as unknown[][]) found.add(row[0] as string);
  }
  counters.predicatesChecked += count;
  if (found.size === 0) return;
  for (let i = start; i < start + count; i++) {
    if (found.has((predicates[i]!.target.key as DentryKey).name)) {
      counters.commandsRejected++;
      throw new PredicateFailed(predicates[i]!, i);
    }
  }
}

function predicateHolds(s: Statements, p: Predicate): boolean {
  if (p.kind === "prefixEmpty") return s.dentryAny.values(p.target.key.mount, p.target.key.inode).length === 0;
  const version = targetVersion(s, p.target);
  switch (p.kind) {
    case "exists":
      return version !== null;
    case "notExists":
      return version === null;
    case "versionEquals":
      return version === p.version;
  }
}

function targetVersion(s: Statements, target: Predicate["target"]): Version | null {
  if (target.family === "dentry") {
    const row = s.dentryGet.values(target.key.mount, target.key.parent, target.key.name)[0];
    return row ? (row[1] as number) : null;
  }
  const row = s.inodeGet.values(target.key.mount, target.key.inode)[0];
  if (!row) return null;
  if (target.family === "dir" && Number(row[2]) !== 1) return null;
  return Number(row[1]);
}
