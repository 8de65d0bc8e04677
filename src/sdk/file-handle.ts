import { FsError, type InodeAttrs } from "../types/index.ts";
import { readWhole, type BodyReader } from "./body-reader.ts";
import { NoKVStats } from "./stats.ts";

// open(): a read-only handle shaped like node's fs/promises FileHandle. It holds the inode, not the
// path, so a rename does not disturb it; a replace of the file is seen by the next read (a
// publish keeps the inode), and each read returns bytes of a single generation.

export interface HandleReadResult<T extends Uint8Array> {
  bytesRead: number;
  buffer: T;
}

export class NoKVFileHandle {
  private positionBytes = 0;
  private closed = false;

  constructor(
    private attrs: InodeAttrs,
    private readonly reader: BodyReader,
    private readonly getattr: () => Promise<InodeAttrs>,
  ) {}

  get inode(): number {
    return this.attrs.inode;
  }

  /** The body generation the last read (or the open) saw. */
  get generation(): number {
    return this.attrs.generation;
  }

  /**
   * Reads up to `length` bytes at `position` (null: at the handle's position, which then moves)
   * into `buffer` at `offset`. Fewer bytes at the end of the file; 0 at or past it.
   */
  async read<T extends Uint8Array>(buffer: T, offset = 0, length = buffer.byteLength - offset, position: number | null = null): Promise<HandleReadResult<T>> {
    this.checkOpen("read");
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || offset + length > buffer.byteLength) {
      throw new FsError("EINVAL", `read of ${length} bytes at buffer offset ${offset} does not fit a ${buffer.byteLength}-byte buffer`, { syscall: "read" });
    }
    const at = position ?? this.positionBytes;
    const result = await this.reader.read(this.attrs.inode, at, length, { generation: this.attrs.generation });
    if (result.generation !== this.attrs.generation) this.attrs = { ...this.attrs, generation: result.generation, sizeBytes: result.sizeBytes };
    buffer.set(result.bytes, offset);
    if (position === null) this.positionBytes += result.bytes.byteLength;
    return { bytesRead: result.bytes.byteLength, buffer };
  }

  /** The whole file from the start, like FileHandle.readFile. */
  async readFile(): Promise<Buffer> {
    this.checkOpen("read");
    const bytes = await readWhole(async () => (this.attrs = await this.getattr()), this.reader);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async stat(): Promise<NoKVStats> {
    this.checkOpen("fstat");
    this.attrs = await this.getattr();
    return new NoKVStats(this.attrs);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(syscall: string): void {
    if (this.closed) throw new FsError("EBADF", "file handle is closed", { syscall });
  }
}
