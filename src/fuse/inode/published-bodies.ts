import { LIMITS } from "../../types/index.ts";
import type { Node } from "./node-table.ts";

// Small files this mount wrote and published, kept by their published generation after the last
// writer closes: programs read back what they just wrote (git copies its objects, then checks
// out from them; a build reads its outputs), and the kernel drops its cached pages when the
// publish moves the file's mtime. Bytes are the mount's own, so they need no second check; an
// entry answers only while the node is still at that generation, and goes when the file changes
// (watch event, our own write), when the kernel forgets the node, or when newer entries need room
// (fusePublishedKeptMaxBytes, oldest first).

interface Kept {
  generation: number;
  bytes: Uint8Array;
}

export class PublishedBodies {
  /** Oldest first (a Map keeps insertion order). */
  private readonly kept = new Map<number, Kept>();
  private keptBytes = 0;
  /** Reads answered from kept bytes; for stats and tests. */
  readonly counts = { kept: 0, served: 0 };

  /** `bytes` are the whole body of `node` as published at `generation`. */
  remember(node: Node, generation: number, bytes: Uint8Array): void {
    if (bytes.byteLength > LIMITS.fusePublishedKeptFileMaxBytes) return;
    this.forget(node.nodeid);
    this.kept.set(node.nodeid, { generation, bytes });
    this.keptBytes += bytes.byteLength;
    this.counts.kept++;
    for (const [nodeid] of this.kept) {
      if (this.keptBytes <= LIMITS.fusePublishedKeptMaxBytes) break;
      this.forget(nodeid);
    }
  }

  /** Bytes [offset, offset + length) of `node` (clipped at its end) if kept for its current generation. */
  take(node: Node, offsetBytes: number, lengthBytes: number): Uint8Array | null {
    const entry = this.kept.get(node.nodeid);
    if (!entry) return null;
    if (entry.generation !== node.attrs.generation) {
      this.forget(node.nodeid);
      return null;
    }
    this.counts.served++;
    const endBytes = Math.min(entry.bytes.byteLength, offsetBytes + lengthBytes);
    // Read to the end: the kernel has the pages now.
    if (endBytes >= entry.bytes.byteLength) this.forget(node.nodeid);
    return entry.bytes.subarray(Math.min(offsetBytes, endBytes), endBytes);
  }

  /** The file changed (an event, our own write) or the kernel forgot it. */
  forget(nodeid: number): void {
    const entry = this.kept.get(nodeid);
    if (!entry) return;
    this.kept.delete(nodeid);
    this.keptBytes -= entry.bytes.byteLength;
  }

  get bytes(): number {
    return this.keptBytes;
  }
}
