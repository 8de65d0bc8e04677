import type { MetadataCommand } from "../command.ts";
import type { ShardState } from "../store.ts";

// Inside a group, a command opens a savepoint so that a failure halfway through its writes rolls
// back only that command. A savepoint is not free: SQLite copies every page the command touches
// first into a sub-journal. Most commands cannot fail halfway on a sound database once their
// predicates held, and those skip it; if one fails anyway (corrupt rows, a full disk), the whole
// group rolls back and nobody is told any of it committed.

/**
 * Whether a command's writes may fail after its predicates passed, so it needs a savepoint: any
 * mutation but these may. Upserts and deletes of current rows never violate a key (without
 * history copies, whose keys a restore can bring back); an inode insert of an id this command
 * allocated finds its key free; a dentry insert whose notExists predicate, in the same order, was
 * just checked finds its key free.
 */
export function needsSavepoint(command: MetadataCommand, state: ShardState): boolean {
  if (command.keepHistory) return true;
  const { predicates } = command;
  let nextPredicate = 0;
  for (const m of command.mutations) {
    if (m.family === "inode") {
      if (m.op === "insert" && !(m.key.inode >= state.nextId && m.key.inode < command.nextId)) return true;
      continue;
    }
    if (m.family !== "dentry") return true;
    if (m.op !== "insert") continue;
    // Creates list a name's predicate and its insert in the same order: match them in one pass.
    let proven = false;
    while (!proven && nextPredicate < predicates.length) {
      const p = predicates[nextPredicate++]!;
      if (p.kind !== "notExists" || p.target.family !== "dentry") continue;
      const k = p.target.key;
      if (k.name !== m.key.name || k.parent !== m.key.parent || k.mount !== m.key.mount) return true;
      proven = true;
    }
    if (!proven) return true;
  }
  return false;
}
