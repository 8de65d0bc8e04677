import type { WatchEvent } from "../../types/index.ts";
import type { NodeTable } from "./node-table.ts";

// What one watch event means for the kernel's caches. The node table is what we told the
// kernel, so an event it already reflects (our own change, echoed back; a rename logged in
// both directories) needs nothing, and an event it does not reflect is applied to the table and
// turned into invalidations. Pure apart from the table, so every rule has a test.

export type Invalidation =
  | { kind: "entry"; parent: number; name: string }
  /** offsetBytes -1: attributes only; 0: attributes and every cached page. */
  | { kind: "inode"; nodeid: number; offsetBytes: -1 | 0 };

export function invalidationsFor(event: WatchEvent, nodes: NodeTable): Invalidation[] {
  // Our own command's echo: the kernel heard its reply already.
  if (event.kind !== "remove" && event.kind !== "rename" && nodes.isOwnCommit(event.inode, event.version)) return [];
  const scope = nodes.nodeidOf(event.scope);
  const nodeid = nodes.nodeidOf(event.inode);
  // Offset 0: the directory's attributes and the listing the kernel may cache (FOPEN_CACHE_DIR).
  const dirChanged = (dir: number): Invalidation => ({ kind: "inode", nodeid: dir, offsetBytes: 0 });
  switch (event.kind) {
    case "create": {
      if (nodes.childOf(scope, event.name) === nodeid) return [];
      // Not ours: the kernel may hold a negative entry for the name, and the directory changed.
      return [{ kind: "entry", parent: scope, name: event.name }, dirChanged(scope)];
    }
    case "remove": {
      // Only if the name still holds the removed inode here: an echo of our own unlink arriving
      // after we made a new file under the same name must not take the name from the new one.
      if (nodes.childOf(scope, event.name) !== nodeid) return [];
      const node = nodes.removed(scope, event.name);
      const out: Invalidation[] = [{ kind: "entry", parent: scope, name: event.name }, dirChanged(scope)];
      // Another link or an open handle keeps it alive, with one link less.
      if (node && nodes.get(node.nodeid)) out.push({ kind: "inode", nodeid: node.nodeid, offsetBytes: -1 });
      return out;
    }
    case "rename": {
      const toScope = nodes.nodeidOf(event.toScope ?? event.scope);
      const toName = event.toName ?? event.name;
      if (nodes.childOf(toScope, toName) === nodeid && nodes.childOf(scope, event.name) !== nodeid) return [];
      // The table moves only what the event moved (the source name may name something newer by now).
      if (nodes.childOf(scope, event.name) === nodeid) nodes.moved({ parent: scope, name: event.name }, { parent: toScope, name: toName });
      return [
        { kind: "entry", parent: scope, name: event.name },
        { kind: "entry", parent: toScope, name: toName },
        dirChanged(scope),
        ...(toScope === scope ? [] : [dirChanged(toScope)]),
      ];
    }
    case "update_attr": {
      const node = nodes.get(nodeid);
      if (!node || node.attrs.version >= event.version) return [];
      // A truncate is an attribute change too; dropping a file's pages is cheap and always right.
      return [{ kind: "inode", nodeid, offsetBytes: node.type === "file" ? 0 : -1 }];
    }
    case "publish": {
      const out: Invalidation[] = [];
      if (nodes.childOf(scope, event.name) !== nodeid) out.push({ kind: "entry", parent: scope, name: event.name }, dirChanged(scope));
      const node = nodes.get(nodeid);
      if (node && node.attrs.generation !== event.generation && node.publishingGeneration !== event.generation) out.push({ kind: "inode", nodeid, offsetBytes: 0 });
      return out;
    }
  }
}
