import { SUMMARY_CHUNK_INDEX, type FullScan } from "../schema/index.ts";
import type { ViolationSink } from "./fsck.ts";

// Block references: every key's stored count must equal the number of current body generations
// whose chunks name it (what clone, publish, truncate and unlink keep up), and no key a body
// names may sit in the GC queue (GC would delete it under a live file).

export function checkBlockRefs(scan: FullScan, sink: ViolationSink): number {
  const expected = new Map<string, number>();
  const refKey = (mount: number, objectKey: string) => `${mount}\0${objectKey}`;
  let body = "";
  let keysOfBody = new Set<string>();
  const flush = () => {
    for (const k of keysOfBody) expected.set(k, (expected.get(k) ?? 0) + 1);
    keysOfBody = new Set();
  };
  // Manifests come in key order, so one body's rows are consecutive.
  for (const m of scan.manifests()) {
    if (m.chunkIndex === SUMMARY_CHUNK_INDEX || !m.chunk) continue;
    const id = `${m.mount}:${m.inode}:${m.generation}`;
    if (id !== body) {
      flush();
      body = id;
    }
    for (const b of m.chunk.blocks) keysOfBody.add(refKey(m.mount, b.key));
  }
  flush();
  const stored = new Map<string, number>();
  for (const r of scan.blockRefs()) stored.set(refKey(r.mount, r.objectKey), r.count);
  for (const k of new Set([...expected.keys(), ...stored.keys()])) {
    const want = expected.get(k) ?? 0;
    const have = stored.get(k) ?? 0;
    if (want === have) continue;
    const [mount, objectKey] = k.split("\0") as [string, string];
    sink.add("block-ref-mismatch", `block '${objectKey}' is named by ${want} bodies, its reference count says ${have}`, { mount: Number(mount), objectKey, expected: want, stored: have });
  }
  for (const r of scan.gcRecords()) {
    if ((expected.get(refKey(r.mount, r.objectKey)) ?? 0) > 0) {
      sink.add("gc-queued-referenced", `block '${r.objectKey}' is queued for deletion while a body names it`, { mount: r.mount, objectKey: r.objectKey });
    }
  }
  return expected.size;
}
