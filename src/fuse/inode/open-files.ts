import { FsError } from "../../types/index.ts";
import type { Node } from "./node-table.ts";
import type { Readahead } from "./readahead.ts";

// Open file and directory handles by the number the kernel holds (fh). Numbers are never reused
// within a mount, so a late request on a released handle is EBADF, never someone else's file.

export interface FileHandle {
  readonly fh: number;
  readonly node: Node;
  readonly writable: boolean;
  /** Reads of the published body; made on the first read. */
  readahead: Readahead | null;
}

export class Handles<H extends { fh: number; node: Node }> {
  private readonly open = new Map<number, H>();
  private nextFh = 1;

  add(make: (fh: number) => H): H {
    const handle = make(this.nextFh++);
    this.open.set(handle.fh, handle);
    handle.node.handles++;
    return handle;
  }

  get(fh: number): H {
    const handle = this.open.get(fh);
    if (!handle) throw new FsError("EBADF", `no open handle ${fh}`);
    return handle;
  }

  /** Removes the handle; the caller releases the node (which may then be dropped). */
  take(fh: number): H | undefined {
    const handle = this.open.get(fh);
    this.open.delete(fh);
    return handle;
  }

  forNode(nodeid: number): H[] {
    return [...this.open.values()].filter((h) => h.node.nodeid === nodeid);
  }
}
