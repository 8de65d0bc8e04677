// Wire codec micro benchmarks: one frame encoded and decoded end to end (encode, frame, FrameDecoder,
// structural check, msgpackr decode), next to its peers for the same payload:
//   - the JSON floor: JSON.stringify + UTF-8 and back, framed the same way (bigint times as strings,
//     since JSON cannot carry them: the floor is what a schemaless text codec costs at best);
//   - msgpackr with inline records (useRecords, no shared structures), the alternative we declined
//     (the guard refuses records, so this one runs unguarded);
//   - the msgpack guard (checkPayload) alone, to show what the depth/extension check costs;
//   - decoding alone (guard + msgpackr), and the same with msgpackr's "auto" int64 decoding for
//     every payload, as before the guard picked a bigint decoder for payloads whose 64-bit
//     integers all lie beyond +-2^53.
import { bench, do_not_optimize, summary } from "mitata";
import { Packr, Unpackr } from "msgpackr";
import { decodePayload, encodePayload, encodeValueFrame } from "../../src/wire/codec.ts";
import { FLAG_RESPONSE, FrameDecoder, encodeFrame } from "../../src/wire/frame.ts";
import { checkPayload } from "../../src/wire/msgpack-guard.ts";
import { resultToWire } from "../../src/wire/results.ts";

const baseNs = 1_700_000_000_123_456_789n;

function attrs(inode: number) {
  return {
    inode,
    type: "file",
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    sizeBytes: 16_384,
    generation: 1,
    nlink: 1,
    parent: 12_345,
    atimeNs: baseNs + BigInt(inode),
    mtimeNs: baseNs + BigInt(inode),
    ctimeNs: baseNs + BigInt(inode),
    target: "",
    version: 1_000_000 + inode,
  };
}

const getattrRequest = { op: "getattr", args: { mount: 1, inode: 123_456 } };
const getattrReply = { ok: true, value: attrs(123_456) };
const createBatch = {
  op: "batch",
  args: {
    requests: Array.from({ length: 256 }, (_, i) => ({
      op: "create",
      args: { mount: 1, parent: 12_345, name: `sample-${String(i).padStart(6, "0")}.bin`, mode: 0o644, uid: 1000, gid: 1000 },
    })),
  },
};
const createBatchReply = { ok: true, value: Array.from({ length: 256 }, (_, i) => ({ ok: true, value: attrs(200_000 + i) })) };

function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
const decoder = new FrameDecoder();
// Separate instances: a Packr decoding with its own structures array would share encoder state.
const recordsPackr = new Packr({ useRecords: true, mapsAsObjects: true });
const recordsUnpackr = new Unpackr({ mapsAsObjects: true });
// The typings lack "auto" (see src/wire/codec.ts).
const autoUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, variableMapSize: true, moreTypes: false, int64AsType: "auto" as "bigint" });

function decodeAuto(bytes: Uint8Array): unknown {
  checkPayload(bytes);
  return autoUnpackr.unpack(bytes);
}

function roundTripWire(value: unknown): unknown {
  decoder.push(encodeValueFrame(7, FLAG_RESPONSE, value));
  return decodePayload(decoder.next()!.payload);
}

function roundTripCopyingFrame(value: unknown): unknown {
  decoder.push(encodeFrame(7, FLAG_RESPONSE, encodePayload(value)));
  return decodePayload(decoder.next()!.payload);
}

function roundTripRecords(value: unknown): unknown {
  decoder.push(encodeFrame(7, FLAG_RESPONSE, recordsPackr.pack(value)));
  return recordsUnpackr.unpack(decoder.next()!.payload);
}

function roundTripJson(value: unknown): unknown {
  decoder.push(encodeFrame(7, FLAG_RESPONSE, textEncoder.encode(JSON.stringify(value))));
  return JSON.parse(textDecoder.decode(decoder.next()!.payload));
}

// A 1,000-entry readdir-plus reply as it would look with attributes as maps, and as it is sent
// (attributes as fixed-order tuples, src/wire/results.ts): the bytes and decode time behind that choice.
const plusPage = {
  entries: Array.from({ length: 1000 }, (_, i) => ({ name: `e${String(i).padStart(4, "0")}`, attrs: { ...attrs(300_000 + i), type: "file" as const } })),
  nextAfter: null,
};
const readdirPlusMaps = { ok: true, value: plusPage };
const readdirPlusTuples = { ok: true, value: resultToWire("readdir_plus", plusPage) };

const payloads: [string, unknown][] = [
  ["getattr request", getattrRequest],
  ["getattr reply", getattrReply],
  ["create batch x256", createBatch],
  ["create batch reply x256", createBatchReply],
  ["readdir-plus reply x1000, attrs as maps", readdirPlusMaps],
  ["readdir-plus reply x1000, attrs as tuples (sent)", readdirPlusTuples],
];

/** Registers the wire codec benches with mitata, one summary per payload. */
export function registerWire(): void {
  for (const [name, value] of payloads) {
    const json = jsonSafe(value);
    const encoded = encodePayload(value);
    console.log(
      `${name}: msgpack ${encoded.length} B, records ${recordsPackr.pack(value).length} B, json ${textEncoder.encode(JSON.stringify(json)).length} B`,
    );
    summary(() => {
      bench(`${name}: wire (encodeValueFrame, decode, guard)`, () => do_not_optimize(roundTripWire(value)));
      bench(`${name}: wire, copying encodeFrame`, () => do_not_optimize(roundTripCopyingFrame(value)));
      bench(`${name}: msgpackr records, no guard`, () => do_not_optimize(roundTripRecords(value)));
      bench(`${name}: JSON floor`, () => do_not_optimize(roundTripJson(json)));
      bench(`${name}: guard alone (checkPayload)`, () => checkPayload(encoded));
      bench(`${name}: decode (decodePayload)`, () => do_not_optimize(decodePayload(encoded)));
      bench(`${name}: decode, int64 'auto' always`, () => do_not_optimize(decodeAuto(encoded)));
    });
  }
}
