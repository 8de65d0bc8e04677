// In-process metadata core micro benches: command build, store commit, reads, read-plan
// computation, and the bare bun:sqlite floor (bench/floors/sqlite-floor.ts) doing the same rows.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, do_not_optimize } from "mitata";
import { SqliteStore } from "../../src/schema/index.ts";
import type { MetadataCommand } from "../../src/schema/command.ts";
import { MetadataService } from "../../src/service/index.ts";
import { newInode } from "../../src/service/core.ts";
import { LIMITS, ROOT_INODE, blockChecksum, blockKey, segmentSizeFor } from "../../src/types/index.ts";
import { SqliteFloor } from "../floors/sqlite-floor.ts";

const BATCH = 256;
const BLOCK_BYTES = 4 * 1024 * 1024;

export interface MicroGroup {
  plan: Record<string, { items: number; floor?: string }>;
  /** Figures that are not timings (writes attribution, bytes per file), printed after the table. */
  extra(): Record<string, unknown>;
  close(): void;
}

/** Registers the core benches with mitata; run them with mitata's run(). */
export function registerCore(): MicroGroup {
  const dir = mkdtempSync(join(tmpdir(), "nokv-bench-core-"));
  const service = new MetadataService(new SqliteStore({ path: join(dir, "meta.db") }));
  const mount = service.mounts.resolve("default");
  const ns = service.ns;
  let seq = 0;
  const name = () => `f${(seq++).toString(36).padStart(8, "0")}`;
  const one = ns.mkdir({ mount, parent: ROOT_INODE, name: "one" });
  const many = Array.from({ length: 64 }, (_, i) => ns.mkdir({ mount, parent: ROOT_INODE, name: `d${i}` }));
  const listed = ns.mkdir({ mount, parent: ROOT_INODE, name: "listed" });
  const files = ns.createFiles({ mount, parent: listed.inode, names: Array.from({ length: 1000 }, (_, i) => `e${String(i).padStart(4, "0")}`) });
  const body = publishBody(service, mount, 1024 * 1024 * 1024);
  let pick = 0;

  bench("command build: 256 creates", () => do_not_optimize(buildCreates(service, mount, one.inode, BATCH, pick++)));
  bench("create 1 (one dir)", () => ns.create({ mount, parent: one.inode, name: name() }));
  bench("create 1 (64 dirs)", () => ns.create({ mount, parent: many[pick++ & 63]!.inode, name: name() }));
  bench("create-many 256 (one command)", () => ns.createFiles({ mount, parent: one.inode, names: Array.from({ length: BATCH }, name) }));
  bench("group of 256 creates (group commit)", () => service.group(() => {
    for (let i = 0; i < BATCH; i++) ns.create({ mount, parent: many[pick++ & 63]!.inode, name: name() });
  }));
  bench("lookup", () => do_not_optimize(ns.lookup({ mount, parent: listed.inode, name: `e${String(pick++ % 1000).padStart(4, "0")}` })));
  bench("getattr", () => do_not_optimize(ns.getattr({ mount, inode: files[pick++ % 1000]!.inode })));
  bench("readdir-plus page of 1,000", () => do_not_optimize(ns.readdirPlus({ mount, inode: listed.inode, limit: 1000 })));
  bench("read plan: 16 KiB of a 1 GiB body", () => do_not_optimize(service.publisher.readPlan({ mount, inode: body, offsetBytes: ((pick++ * 7919) % 65_536) * 16_384, lengthBytes: 16_384 })));
  bench("read plan: 256 MiB of a 1 GiB body", () => do_not_optimize(service.publisher.readPlan({ mount, inode: body, offsetBytes: 0, lengthBytes: 256 * 1024 * 1024 })));

  const floor = new SqliteFloor(join(dir, "floor.db"));
  bench("floor: bun:sqlite create 1", () => floor.create(1));
  bench("floor: bun:sqlite 256 creates, one tx", () => floor.create(BATCH));
  bench("floor: bun:sqlite point read", () => do_not_optimize(floor.pointRead(pick++)));

  return {
    plan: {
      "command build: 256 creates": { items: BATCH },
      "create 1 (one dir)": { items: 1, floor: "floor: bun:sqlite create 1" },
      "create 1 (64 dirs)": { items: 1, floor: "floor: bun:sqlite create 1" },
      "create-many 256 (one command)": { items: BATCH, floor: "floor: bun:sqlite 256 creates, one tx" },
      "group of 256 creates (group commit)": { items: BATCH, floor: "floor: bun:sqlite 256 creates, one tx" },
      lookup: { items: 1, floor: "floor: bun:sqlite point read" },
      getattr: { items: 1, floor: "floor: bun:sqlite point read" },
      "readdir-plus page of 1,000": { items: 1000 },
      "read plan: 16 KiB of a 1 GiB body": { items: 1 },
      "read plan: 256 MiB of a 1 GiB body": { items: 1 },
      "floor: bun:sqlite create 1": { items: 1 },
      "floor: bun:sqlite 256 creates, one tx": { items: BATCH },
      "floor: bun:sqlite point read": { items: 1 },
    },
    extra: () => ({ writes: service.store.counters, storeBytesPerFile: Math.round(service.store.footprintBytes() / (seq + 1000)) }),
    close: () => {
      service.close();
      floor.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The command a 256-file create-many builds before commit: inode and dentry inserts, watch events. */
function buildCreates(service: MetadataService, mount: number, parent: number, count: number, salt: number): MetadataCommand {
  const command = service.core.command("create_files", mount);
  for (let i = 0; i < count; i++) {
    const inode = 1_000_000 + salt * count + i;
    const name = `n${salt}-${i}`;
    command.predicates.push({ kind: "notExists", target: { family: "dentry", key: { mount, parent, name } }, errno: "EEXIST" });
    command.mutations.push({ family: "inode", op: "insert", key: { mount, inode }, value: newInode({ inode, type: "file", mode: 0o644, uid: 0, gid: 0, parent }) });
    command.mutations.push({ family: "dentry", op: "insert", key: { mount, parent, name }, value: { inode, type: "file" } });
  }
  return command;
}

/** Publishes a body of `sizeBytes` in 4 MiB blocks (metadata only: no object is written). */
function publishBody(service: MetadataService, mount: number, sizeBytes: number): number {
  const prep = service.publisher.prepare({ mount, parent: ROOT_INODE, name: "body", blockSizeBytes: BLOCK_BYTES });
  const chunkBytes = LIMITS.chunkSizeBytes;
  const chunks = [];
  for (let c = 0; c * chunkBytes < sizeBytes; c++) {
    const inChunk = Math.min(chunkBytes, sizeBytes - c * chunkBytes);
    const blocks = [];
    for (let b = 0, off = 0; off < inChunk; b++, off += BLOCK_BYTES) {
      const lengthBytes = Math.min(BLOCK_BYTES, inChunk - off);
      // Metadata only: the checksum of zeros stands in for bytes that are never written.
      blocks.push({ key: blockKey(prep.keyPrefix, c, b), offsetInChunk: off, lengthBytes, objectOffset: 0, checksum: blockChecksum(new Uint8Array(lengthBytes), segmentSizeFor(BLOCK_BYTES)) });
    }
    chunks.push({ chunkIndex: c, blocks });
  }
  const summary = { sizeBytes, chunkSizeBytes: chunkBytes, blockSizeBytes: BLOCK_BYTES, chunkCount: chunks.length, digest: "", producer: "bench", contentType: "" };
  return service.publisher.publish({ mount, prepareId: prep.prepareId, parent: ROOT_INODE, name: "body", manifest: { summary, chunks } }).inode;
}
