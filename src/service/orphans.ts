import { FsError, LIMITS, type InodeId, type MountId } from "../types/index.ts";
import type { Mutation, StoredOrphan } from "../schema/index.ts";
import type { ServiceCore, WriteOptions } from "./core.ts";
import { deleteInodeMutations, validateSession } from "./namespace.ts";

// Orphans: files unlinked (or renamed over) while a mount session held them open. POSIX keeps such
// a file readable and writable through its open descriptors until the last one closes; metad keeps
// the inode and its body, nameless with nlink 0, on behalf of the session that asked (unlink and
// rename take `keepOpen: session`). They go when the session releases one (its last close), closes
// (a clean unmount), or stops renewing its lease (a dead client): a crash leaks nothing for longer
// than LIMITS.orphanLeaseMs. Every removal is a collect_orphans command, so replay is exact.

export class Orphans {
  constructor(private readonly core: ServiceCore) {}

  /** The session's last descriptor of `inode` closed: the orphan goes. No orphan: nothing to do. */
  release(args: { mount: MountId; inode: InodeId; session: string } & WriteOptions): { released: number } {
    const replay = this.core.replayed<{ released: number }>(args);
    if (replay) return replay.value;
    validateSession(args.session);
    const orphan = this.core.store.getOrphan(args.mount, args.inode);
    // Another session's orphan, or a file relinked meanwhile: not ours to free.
    if (!orphan || orphan.session !== args.session) return { released: 0 };
    return { released: this.collect("collect_orphans", args.mount, [orphan], args) };
  }

  /** Moves the lease of every orphan the session holds in the mount; a no-op (no command) when none. */
  renew(args: { mount: MountId; session: string } & WriteOptions): { orphans: number; expiresAtMs: number | null } {
    const replay = this.core.replayed<{ orphans: number; expiresAtMs: number | null }>(args);
    if (replay) return replay.value;
    validateSession(args.session);
    const held = this.core.store.scanOrphansOfSession(args.mount, args.session, LIMITS.orphansPerSessionMax).length;
    if (held === 0) return { orphans: 0, expiresAtMs: null };
    const command = this.core.command("renew_orphans", args.mount, args);
    command.keepHistory = false;
    const expiresAtMs = command.timestampMs + LIMITS.orphanLeaseMs;
    command.mutations.push({ family: "orphan", op: "renew", key: { mount: args.mount, session: args.session }, value: { expiresAtMs } });
    const result = this.core.result(command, { orphans: held, expiresAtMs });
    this.core.commit(command);
    return result;
  }

  /** The session ended cleanly: everything it still holds goes now (idempotent: no request key needed). */
  closeSession(args: { mount: MountId; session: string } & WriteOptions): { released: number } {
    validateSession(args.session);
    let released = 0;
    for (;;) {
      const batch = this.core.store.scanOrphansOfSession(args.mount, args.session, LIMITS.gcPassMaxRows);
      if (batch.length === 0) return { released };
      released += this.collect("collect_orphans", args.mount, batch, {});
    }
  }

  /** GC: orphans of sessions whose lease ran out. Returns how many went. */
  collectExpired(nowMs: number): number {
    const expired = this.core.store.scanOrphansExpired(nowMs, LIMITS.gcPassMaxRows);
    const byMount = new Map<MountId, StoredOrphan[]>();
    for (const o of expired) byMount.set(o.mount, [...(byMount.get(o.mount) ?? []), o]);
    let collected = 0;
    for (const [mount, orphans] of byMount) collected += this.collect("collect_orphans", mount, orphans, {});
    return collected;
  }

  /** One command removing `orphans` (rows, inodes, attributes, bodies); returns how many it removed. */
  private collect(kind: "collect_orphans", mount: MountId, orphans: readonly StoredOrphan[], options: WriteOptions): number {
    const command = this.core.command(kind, mount, options);
    const mutations: Mutation[] = [];
    for (const o of orphans) {
      const key = { mount, inode: o.inode };
      mutations.push({ family: "orphan", op: "delete", key });
      const attrs = this.core.store.getInode(key);
      // Still nameless: it goes. (A row whose inode gained a name again would only lose the row.)
      if (attrs && attrs.nlink === 0) {
        command.predicates.push({ kind: "versionEquals", target: { family: "inode", key }, version: attrs.version, errno: "ESTALE" });
        mutations.push(...deleteInodeMutations(this.core, mount, attrs));
      }
    }
    if (mutations.length > LIMITS.commandMaxMutations) throw new FsError("EFBIG", `collecting ${orphans.length} orphans needs more than one command`);
    command.mutations.push(...mutations);
    this.core.result(command, { released: orphans.length });
    this.core.commit(command);
    return orphans.length;
  }
}
