import { O_ACCMODE, O_RDONLY, O_TRUNC, type RawFileSystem } from "../kernel/index.ts";
import type { FsState } from "./state.ts";

// Which requests may change a file's attributes at metad without this mount learning the new
// ones: before each, the file's locally held attributes stop answering GETATTR (see
// LocalAnswers.fileAttrsCurrent). Listed by what a request can touch, not by what it usually
// does, so a new request kind is stale-making unless it is added to READ_ONLY.

/** Requests that change nothing at metad (a read-only open, flush and release included). */
const READ_ONLY = new Set<keyof RawFileSystem>([
  "init", "destroy", "lookup", "forget", "getattr", "readlink", "read", "opendir", "readdir", "releasedir", "fsyncdir", "statfs", "access", "getxattr", "listxattr",
]);

export function staleOnChange(fs: RawFileSystem, state: FsState): RawFileSystem {
  const out: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(fs) as Array<[keyof RawFileSystem, ((...args: unknown[]) => unknown) | undefined]>) {
    if (handler === undefined || READ_ONLY.has(name)) {
      out[name] = handler;
      continue;
    }
    out[name] = (...args: unknown[]) => {
      staleBefore(state, name, args);
      return handler(...args);
    };
  }
  return out as RawFileSystem;
}

function staleBefore(state: FsState, name: keyof RawFileSystem, args: unknown[]): void {
  const stale = (nodeid: number | undefined) => nodeid !== undefined && state.local.fileStale(nodeid);
  const child = (parent: number, entry: string) => stale(state.nodes.childOf(parent, entry));
  switch (name) {
    case "open": {
      const flags = args[2] as number;
      if ((flags & O_ACCMODE) !== O_RDONLY || (flags & O_TRUNC) !== 0) stale(args[1] as number);
      return;
    }
    case "flush":
    case "release": {
      // Closing a read-only handle changes nothing; a writable one publishes.
      if (state.files.get(args[2] as number)?.writable) stale(args[1] as number);
      return;
    }
    case "unlink":
    case "rmdir":
      return void child(args[1] as number, args[2] as string);
    case "rename": {
      const rename = args[1] as { parent: number; name: string; newParent: number; newName: string };
      child(rename.parent, rename.name);
      child(rename.newParent, rename.newName);
      return;
    }
    case "create":
    case "mknod":
    case "mkdir":
    case "symlink":
    case "tmpfile":
      return; // a new node: nothing of it is held yet
    default:
      // setattr, write, fsync, fallocate, link, setxattr, removexattr: the node is args[1].
      stale(args[1] as number);
  }
}
