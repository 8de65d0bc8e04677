import { LIMITS } from "../../types/index.ts";
import type { LocalAnswers } from "./local-answers.ts";
import type { NodeSource } from "./source.ts";

// ls -l, cp -a and tar ask every listed file for an attribute or two (security.*, capabilities).
// Rather than one request per file, the first such question about a listed file asks metad for
// the attribute names of every file the kernel has taken from the same listing page (one
// xattr_names request; ls reads its whole directory before it asks); a listing nobody asks about
// (find, du) costs nothing. Only files the kernel holds are learned: their changes from
// elsewhere reach us as events. Pages are remembered for the last fuseXattrPagesKept listings.

/** Identifies one page read from metad; its entries join the same group as the kernel takes them. */
export type PageToken = object;

interface Group {
  /** nodeid -> inode of the entries taken so far. */
  readonly members: Map<number, number>;
  learned: Promise<void> | null;
}

export class XattrPages {
  private readonly open = new Map<PageToken, Group>();
  private readonly byNode = new Map<number, Group>();
  private readonly groups: Group[] = [];

  constructor(
    private readonly source: NodeSource,
    private readonly local: LocalAnswers,
  ) {}

  /** The kernel took entry `nodeid` (inode `inode`) of the listing page `page`. */
  taken(page: PageToken, nodeid: number, inode: number): void {
    if (!this.source.xattrNames) return;
    let group = this.open.get(page);
    if (!group) {
      group = { members: new Map(), learned: null };
      this.open.set(page, group);
      this.groups.push(group);
      if (this.groups.length > LIMITS.fuseXattrPagesKept) this.forget(this.groups.shift()!);
    }
    group.members.set(nodeid, inode);
    this.byNode.set(nodeid, group);
  }

  /** Learns the attribute names of `nodeid`'s group, if it came from a listing; false otherwise. */
  async learn(nodeid: number): Promise<boolean> {
    const group = this.byNode.get(nodeid);
    if (!group || !this.source.xattrNames) return false;
    if (!group.learned) {
      // Entries the kernel takes from the same page later form a new group.
      for (const [token, g] of this.open) if (g === group) this.open.delete(token);
      group.learned = this.fetch(group);
    }
    await group.learned;
    return true;
  }

  private async fetch(group: Group): Promise<void> {
    try {
      const withNames = new Map(await this.source.xattrNames!([...group.members.values()]));
      for (const [nodeid, inode] of group.members) this.local.setXattrNames(nodeid, withNames.get(inode) ?? []);
    } finally {
      this.forget(group);
    }
  }

  private forget(group: Group): void {
    for (const nodeid of group.members.keys()) if (this.byNode.get(nodeid) === group) this.byNode.delete(nodeid);
    for (const [token, g] of this.open) if (g === group) this.open.delete(token);
  }
}
