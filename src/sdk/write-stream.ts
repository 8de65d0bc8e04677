import { Writable } from "node:stream";
import { FsError, type InodeAttrs } from "../types/index.ts";
import type { BodySource } from "./blocks.ts";

// createWriteStream: a node:stream Writable whose bytes feed a publish as they arrive (bounded:
// write() waits while a block's worth is queued). The file appears when the stream finishes
// ('finish' fires after the publish committed); a stream destroyed or failed before that
// publishes nothing.

/** A single-consumer queue of byte chunks with backpressure, read as an async iterable. */
export class ByteChannel implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: { error: Error } | null = null;
  private wakeConsumer: (() => void) | null = null;
  private readonly wakeProducers: Array<() => void> = [];

  constructor(private readonly limitBytes: number) {}

  /** Queues bytes; resolves once the queue is below its limit again, rejects if the channel failed. */
  async push(bytes: Uint8Array): Promise<void> {
    this.throwIfFailed();
    if (this.ended) throw new FsError("EINVAL", "write after end");
    this.queue.push(bytes);
    this.queuedBytes += bytes.byteLength;
    this.wake();
    while (this.queuedBytes >= this.limitBytes && !this.failure) await new Promise<void>((r) => this.wakeProducers.push(r));
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(error: Error): void {
    this.failure ??= { error };
    this.wake();
    for (const wake of this.wakeProducers.splice(0)) wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        this.throwIfFailed();
        const bytes = this.queue.shift();
        if (bytes) {
          this.queuedBytes -= bytes.byteLength;
          if (this.queuedBytes < this.limitBytes) for (const wake of this.wakeProducers.splice(0)) wake();
          yield bytes;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((r) => (this.wakeConsumer = r));
      }
    } finally {
      // The consumer stopped (its publish failed): writers waiting on it must not wait forever.
      if (!this.ended || this.queue.length > 0) this.fail(new FsError("EIO", "the publish stopped reading the stream"));
    }
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = null;
    wake?.();
  }
}

export interface NoKVWriteStream extends Writable {
  /** The published file's attributes, once 'finish' fired. */
  attrs: InodeAttrs | null;
}

/** `publish` starts at once with the channel as its source and resolves when it committed. */
export function bodyWriteStream(publish: (source: BodySource) => Promise<InodeAttrs>, queueBytes: number): NoKVWriteStream {
  const channel = new ByteChannel(queueBytes);
  let done: Promise<InodeAttrs> | null = null;
  const stream = new Writable({
    decodeStrings: true,
    write(chunk: Uint8Array, _encoding, callback) {
      channel.push(chunk).then(() => callback(), callback);
    },
    final(callback) {
      channel.end();
      done!.then((attrs) => {
        stream.attrs = attrs;
        callback();
      }, callback);
    },
    destroy(error, callback) {
      // The publish sees an FsError either way: the caller's reason is theirs, not a bug to log.
      channel.fail(new FsError("EIO", `write stream destroyed before it finished${error ? `: ${error.message}` : ""}`));
      callback(error);
    },
  }) as NoKVWriteStream;
  stream.attrs = null;
  done = publish(channel);
  // A publish that fails before the stream ends (EEXIST, an upload error) fails the stream now.
  done.catch((err: Error) => stream.destroy(err));
  return stream;
}
