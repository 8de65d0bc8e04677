import { SIZE } from "./abi.ts";

// Builders of raw request frames, for tests of the kernel layer without a kernel.

const encoder = new TextEncoder();

export interface FrameArgs {
  opcode: number;
  unique?: bigint;
  nodeid?: number;
  uid?: number;
  gid?: number;
  /** The in-struct and trailing names/data. */
  body?: Uint8Array;
}

export function requestFrame(args: FrameArgs): Uint8Array {
  const body = args.body ?? new Uint8Array(0);
  const out = new Uint8Array(SIZE.inHeader + body.byteLength);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.byteLength, true);
  v.setUint32(4, args.opcode, true);
  v.setBigUint64(8, args.unique ?? 1n, true);
  v.setBigUint64(16, BigInt(args.nodeid ?? 1), true);
  v.setUint32(24, args.uid ?? 0, true);
  v.setUint32(28, args.gid ?? 0, true);
  out.set(body, SIZE.inHeader);
  return out;
}

/** A body of little-endian fields (`u32`/`u64`) followed by NUL-terminated names. */
export function body(fields: Array<["u32" | "u64", number | bigint]>, names: string[] = [], trailing?: Uint8Array): Uint8Array {
  const fixedBytes = fields.reduce((n, [kind]) => n + (kind === "u32" ? 4 : 8), 0);
  const nameBytes = names.map((n) => encoder.encode(`${n}\0`));
  const out = new Uint8Array(fixedBytes + nameBytes.reduce((n, b) => n + b.byteLength, 0) + (trailing?.byteLength ?? 0));
  const v = new DataView(out.buffer);
  let at = 0;
  for (const [kind, value] of fields) {
    if (kind === "u32") v.setUint32(at, Number(value), true);
    else v.setBigUint64(at, BigInt(value), true);
    at += kind === "u32" ? 4 : 8;
  }
  for (const b of nameBytes) {
    out.set(b, at);
    at += b.byteLength;
  }
  if (trailing) out.set(trailing, at);
  return out;
}

export interface ParsedReply {
  lengthBytes: number;
  errno: number;
  unique: bigint;
  body: DataView;
}

export function parseReply(frame: Uint8Array): ParsedReply {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    lengthBytes: v.getUint32(0, true),
    errno: Math.abs(v.getInt32(4, true)),
    unique: v.getBigUint64(8, true),
    body: new DataView(frame.buffer, frame.byteOffset + SIZE.outHeader, frame.byteLength - SIZE.outHeader),
  };
}

/** An INIT request as a kernel of `minor` sends it. */
export function initFrame(minor: number, flags: number, unique = 1n): Uint8Array {
  return requestFrame({ opcode: 26, unique, body: body([["u32", 7], ["u32", minor], ["u32", 131072], ["u32", flags], ["u32", 0], ["u32", 0]]) });
}
