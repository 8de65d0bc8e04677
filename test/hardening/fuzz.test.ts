import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Packr } from "msgpackr";
import { OPS } from "../../src/server/dispatch.ts";
import { FLAG_PUSH, encodeFrame, encodeValueFrame } from "../../src/wire/index.ts";
import { fsckDataDir } from "../../src/cli/fsck.ts";
import { startMetad, type MetadHarness } from "../harness.ts";
import { RawConnection } from "../raw-socket.ts";
import { seededRandom } from "../../src/types/random.ts";

// Hostile input: every op gets random, wrong-typed, oversized and malformed arguments, and the
// decoder gets random, truncated and deeply nested msgpack. The server must answer each request
// with an errno that is not EIO (EIO means an input reached code that did not expect it), never
// crash, keep serving other clients, and leave a store fsck finds clean.

const CASES = Number(process.env.NOKV_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.NOKV_FUZZ_SEED ?? Date.now() % 1_000_000);

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad();
  const c = await h.client();
  await c.mkdir("/d/e", { recursive: true });
  await c.writeFile("/d/f", "bytes");
  await c.symlink("/d", "/s");
  await c.close();
});
afterAll(() => h.stop());


const FIELDS = [
  "mount", "parent", "name", "inode", "path", "newPath", "newParent", "newName", "target", "mode", "uid", "gid", "sizeBytes",
  "atimeNs", "mtimeNs", "recursive", "plus", "names", "ops", "prepareId", "manifest", "snapshot", "cursor", "limit", "after",
  "offsetBytes", "lengthBytes", "generation", "blockSizeBytes", "expiryMs", "subscription", "replace", "noReplace", "exchange",
  "follow", "dirOnly", "fileOnly", "ifGeneration", "op", "args",
];

const NASTY_STRINGS = [
  "", ".", "..", "/", "a/b", "a\0b", "\0", "x".repeat(256), "é".repeat(200), "\ud800", "a\udfffb", "/d/../../..", "//d//f",
  "/d/f/", "/" + "a/".repeat(3000), "/d/" + "n".repeat(300), "\u202e", "now", "1.2", "-1.0", "blocks/../x", "/s/e", "/d/\ud83d",
];

function value(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 9 : 12));
  switch (pick) {
    case 0: return NASTY_STRINGS[Math.floor(r() * NASTY_STRINGS.length)];
    case 1: return [-1, 0, 1, 2, 3, 0x7fffffff, 2 ** 53, -(2 ** 60), 1.5, NaN, Infinity, 2 ** 32][Math.floor(r() * 12)];
    case 2: return Math.floor(r() * 20);
    case 3: return [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n)][Math.floor(r() * 4)];
    case 4: return r() < 0.5;
    case 5: return null;
    case 6: return new Uint8Array(Math.floor(r() * 40));
    case 7: return "/d/" + String.fromCharCode(...Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 0xffff)));
    case 8: return 1;
    case 9: return Array.from({ length: Math.floor(r() * 5) }, () => value(r, depth + 1));
    case 10: return args(r, depth + 1);
    default: return { op: OP_NAMES[Math.floor(r() * OP_NAMES.length)], args: args(r, depth + 1) };
  }
}

function args(r: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r() < 0.8) out.mount = r() < 0.85 ? 1 : value(r, depth);
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) out[FIELDS[Math.floor(r() * FIELDS.length)]!] = value(r, depth);
  return out;
}

const OP_NAMES = [...Object.keys(OPS), "batch", "no_such_op", "", "x".repeat(70)];

/** Frames that are not well-formed requests: random bytes, truncations, deep nesting, lying lengths. */
function malformedPayload(r: () => number): Uint8Array {
  const kind = Math.floor(r() * 6);
  if (kind === 0) return crypto.getRandomValues(new Uint8Array(1 + Math.floor(r() * 200)));
  if (kind === 1) {
    const whole = new Packr({ useRecords: false }).pack({ op: "getattr", args: { mount: 1, inode: 1 } });
    return whole.subarray(0, Math.floor(r() * whole.length));
  }
  if (kind === 2) return new Uint8Array(10_000 + Math.floor(r() * 100_000)).fill(0x91); // arrays nested ~100k deep
  if (kind === 3) return new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]); // an array claiming 4G entries
  if (kind === 4) return new Uint8Array([0x82, 0xa2, 0x6f, 0x70, 0xa3, 0xff, 0xfe, 0xfd, 0xa4, 0x61, 0x72, 0x67, 0x73, 0x80]); // op: invalid UTF-8
  return new Uint8Array([0xc7, 0x01, 0x72, 0x00]); // an extension (msgpackr record) a peer must not reach
}

describe("fuzz", () => {
  test(`${CASES} hostile requests: an errno each (never EIO), no crash, others keep being served`, async () => {
    const r = seededRandom(SEED);
    const eio: string[] = [];
    const codes = new Map<string, number>();
    let conn = await RawConnection.open(h.port);
    let closedByServer = 0;
    let pushes = 0;
    console.log(`fuzz: seed ${SEED} (NOKV_FUZZ_SEED repeats a run)`);
    const bystander = await h.client();
    for (let start = 0; start < CASES; start += 50) {
      const sent = new Map<number, string>();
      for (let id = start + 1; id <= Math.min(CASES, start + 50); id++) {
        if (r() < 0.1) {
          // Malformed frames go alone on a connection of their own: a bad stream may be closed.
          const side = await RawConnection.open(h.port);
          side.send(encodeFrame(id, 0, malformedPayload(r)));
          const reply = await side.next(5000);
          if (reply === null) closedByServer++;
          else {
            const code = (reply.value as { error?: { code: string } }).error?.code ?? "ok";
            codes.set(code, (codes.get(code) ?? 0) + 1);
            if (code === "EIO") eio.push(`malformed #${id}: ${JSON.stringify(reply.value)}`);
          }
          side.close();
          continue;
        }
        const op = OP_NAMES[Math.floor(r() * OP_NAMES.length)]!;
        const a = op === "batch" ? { mount: 1, ops: Array.from({ length: Math.floor(r() * 6) }, () => value(r, 2)) } : args(r);
        const key = r() < 0.3 ? `fuzz-${SEED}-${id}` : undefined;
        try {
          conn.send(encodeValueFrame(id, 0, key === undefined ? { op, args: a } : { op, args: a, requestKey: key }));
          sent.set(id, `${op} ${JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? `${v}n` : v))}`.slice(0, 300));
        } catch {
          // Not encodable by our own encoder (a frame over the limit): nothing was sent.
        }
      }
      for (let i = 0; i < sent.size; ) {
        const reply = await conn.next(10_000);
        if (reply === null) throw new Error(`server closed a well-framed connection; pending: ${[...sent.values()].join("\n")}`);
        // A watch_subscribe the fuzzer happened to make valid gets events of its own creates: pushes, not replies.
        if (reply.flags & FLAG_PUSH) {
          pushes++;
          continue;
        }
        i++;
        const v = reply.value as { ok: boolean; value?: unknown; error?: { code: string; message: string } };
        const code = v.ok ? "ok" : v.error!.code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (code === "EIO") eio.push(`${sent.get(reply.requestId)} -> ${v.error!.message}`);
        if (v.ok && Array.isArray(v.value)) {
          for (const sub of v.value as Array<{ ok?: boolean; error?: { code: string; message: string } }>) {
            if (sub?.ok === false && sub.error?.code === "EIO") eio.push(`${sent.get(reply.requestId)} (batch) -> ${sub.error.message}`);
          }
        }
      }
      // The bystander is served between every round.
      expect((await bystander.stat("/d")).isDirectory()).toBe(true);
      if (conn.closed) conn = await RawConnection.open(h.port);
    }
    conn.close();
    console.log(`fuzz: seed ${SEED}, ${CASES} cases, replies by code ${JSON.stringify(Object.fromEntries(codes))}, ${pushes} watch pushes, ${closedByServer} malformed streams closed`);
    expect(eio).toEqual([]);
    await bystander.writeFile("/after-fuzz", "still writable");
    expect(await bystander.readFile("/after-fuzz", "utf8")).toBe("still writable");
    expect((await fetch(`http://127.0.0.1:${h.port}/healthz`)).status).toBe(200);
    await bystander.close();
  }, 120_000);

  test("the store the fuzzer wrote to passes fsck", async () => {
    await h.metad.stop();
    const report = await fsckDataDir({ dataDir: join(h.dir, "data"), objectsUrl: `file://${join(h.dir, "objects")}` });
    expect(report.violations).toEqual([]);
    await h.restart();
  });
});
