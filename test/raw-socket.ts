import { connect, type Socket } from "node:net";
import { CONNECTION_MAGIC, FrameDecoder, decodePayload, encodeValueFrame, type Frame } from "../src/wire/index.ts";

// A bare TCP client for protocol tests: sends whatever bytes a test wants and reads raw frames.

export class RawConnection {
  private readonly decoder = new FrameDecoder();
  private readonly frames: Frame[] = [];
  private waiters: Array<() => void> = [];
  private raw: Buffer[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.raw.push(chunk);
      try {
        this.decoder.push(new Uint8Array(chunk));
        for (const f of this.decoder) this.frames.push(f);
      } catch {
        // Not frames (an HTTP reply): the raw bytes are still readable.
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.closedPromise = new Promise((resolve) => socket.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
      resolve();
    }));
    socket.on("error", () => {});
  }

  static open(port: number, { magic = true } = {}): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port }, () => {
        const conn = new RawConnection(socket);
        if (magic) socket.write(CONNECTION_MAGIC);
        resolve(conn);
      });
      socket.once("error", reject);
    });
  }

  send(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  request(requestId: number, op: string, args: Record<string, unknown>, requestKey?: string): void {
    this.send(encodeValueFrame(requestId, 0, requestKey === undefined ? { op, args } : { op, args, requestKey }));
  }

  /** The next frame, or null if the connection closes first; fails the test after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<{ requestId: number; flags: number; value: unknown } | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.closed) return null;
      if (Date.now() > deadline) throw new Error("no frame within timeout");
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    const f = this.frames.shift()!;
    return { requestId: f.requestId, flags: f.flags, value: decodePayload(f.payload) };
  }

  text(): string {
    return Buffer.concat(this.raw).toString("latin1");
  }

  close(): void {
    this.socket.destroy();
  }
}
