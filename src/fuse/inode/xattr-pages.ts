import { LIMITS } from "../../types/index.ts";
import type { LocalAnswers } from "./local-answers.ts";
import type { NodeSource } from "./source.ts";

// ls -l, cp -a and tar ask every listed file for an attribute or two (security.*, capabilities).
// Rather than one request per file, the first such question about a file of a listing page asks
// metad for the attribute names of the whole page at once (xattr_names); a listing nobody asks
// about (find, du) costs nothing. Pages are remembered for the last fuseXattrPagesKept listings.

interface Page {
  /** nodeid -> inode, for the page's entries the kernel took. */
  readonly members: Map<number, number>;
  learned: Promise<void> | null;
}

export class XattrPages {
  private readonly byNode = new Map<number, Page>();
  private readonly pages: Page[] = [];

  constructor(
    private readonly source: NodeSource,
    private readonly local: LocalAnswers,
  ) {}

  /** A listing page whose entries the kernel took: `members` maps node ids to inodes. */
  listed(members: Map<number, number>): void {
    if (members.size === 0 || !this.source.xattrNames) return;
    const page: Page = { members, learned: null };
    this.pages.push(page);
    for (const nodeid of members.keys()) this.byNode.set(nodeid, page);
    if (this.pages.length > LIMITS.fuseXattrPagesKept) this.forget(this.pages.shift()!);
  }

  /** Learns the attribute names of `nodeid`'s page, if it came from a listing; false otherwise. */
  async learn(nodeid: number): Promise<boolean> {
    const page = this.byNode.get(nodeid);
    if (!page || !this.source.xattrNames) return false;
    page.learned ??= this.fetch(page);
    await page.learned;
    return true;
  }

  private async fetch(page: Page): Promise<void> {
    const withNames = new Map(await this.source.xattrNames!([...page.members.values()]));
    for (const [nodeid, inode] of page.members) this.local.setXattrNames(nodeid, withNames.get(inode) ?? []);
    this.forget(page);
  }

  private forget(page: Page): void {
    for (const nodeid of page.members.keys()) if (this.byNode.get(nodeid) === page) this.byNode.delete(nodeid);
  }
}
