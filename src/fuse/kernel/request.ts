import { SIZE } from "./abi.ts";
import type { RequestContext } from "./types.ts";

// One request as read from /dev/fuse: struct fuse_in_header, then the opcode's in-struct and any
// names or data. Readers take offsets into the body (the bytes after the header and extensions).

const decoder = new TextDecoder("utf-8", { fatal: false });

export class FuseRequest implements RequestContext {
  readonly opcode: number;
  readonly unique: bigint;
  readonly nodeid: number;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** Everything after the header and extensions. */
  readonly body: Uint8Array;
  private readonly view: DataView;

  private constructor(bytes: Uint8Array, header: DataView, bodyStart: number, bodyEnd: number) {
    this.opcode = header.getUint32(4, true);
    this.unique = header.getBigUint64(8, true);
    this.nodeid = Number(header.getBigUint64(16, true));
    this.uid = header.getUint32(24, true);
    this.gid = header.getUint32(28, true);
    this.pid = header.getUint32(32, true);
    this.body = bytes.subarray(bodyStart, bodyEnd);
    this.view = new DataView(this.body.buffer, this.body.byteOffset, this.body.byteLength);
  }

  /**
   * Parses a frame; null when it is shorter than a header or than its own `len` says, which the
   * caller answers with EIO (when the unique is readable) rather than trusting anything in it.
   */
  static parse(bytes: Uint8Array): FuseRequest | null {
    if (bytes.byteLength < SIZE.inHeader) return null;
    const header = new DataView(bytes.buffer, bytes.byteOffset, SIZE.inHeader);
    const lenBytes = header.getUint32(0, true);
    const extBytes = header.getUint16(36, true) * 8;
    if (lenBytes !== bytes.byteLength || SIZE.inHeader + extBytes > lenBytes) return null;
    // Extensions (security contexts) trail the request; we negotiate none, so they are skipped.
    return new FuseRequest(bytes, header, SIZE.inHeader, lenBytes - extBytes);
  }

  /** The unique id of a frame too short to parse, when there is one. */
  static uniqueOf(bytes: Uint8Array): bigint | null {
    if (bytes.byteLength < 16) return null;
    return new DataView(bytes.buffer, bytes.byteOffset, 16).getBigUint64(8, true);
  }

  u32(offsetBytes: number): number {
    return this.view.getUint32(offsetBytes, true);
  }

  /** A u64 the protocol keeps below 2^53 here (offsets, sizes, handles, node ids). */
  u64(offsetBytes: number): number {
    return Number(this.view.getBigUint64(offsetBytes, true));
  }

  u64Big(offsetBytes: number): bigint {
    return this.view.getBigUint64(offsetBytes, true);
  }

  /** `count` NUL-terminated strings starting at `offsetBytes`; throws if one is unterminated. */
  names(offsetBytes: number, count: number): string[] {
    const out: string[] = [];
    let at = offsetBytes;
    for (let i = 0; i < count; i++) {
      const end = this.body.indexOf(0, at);
      if (end < 0) throw new RangeError("unterminated name in request");
      out.push(decoder.decode(this.body.subarray(at, end)));
      at = end + 1;
    }
    return out;
  }

  name(offsetBytes: number): string {
    return this.names(offsetBytes, 1)[0]!;
  }
}
