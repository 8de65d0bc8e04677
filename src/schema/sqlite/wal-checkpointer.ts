import { LIMITS } from "../../types/index.ts";

// SQLite checkpoints the WAL inside the commit that crosses wal_autocheckpoint: on metad's event
// loop, copying pages into the database file and (synchronous=NORMAL) fsyncing both files. Under
// a write storm that was half of a group commit's time. Here a worker thread with its own
// connection checkpoints instead (PASSIVE: the writer is never blocked), and the writer only
// finishes a nearly complete checkpoint now and then, so the WAL restarts from its beginning
// rather than growing while writes never pause.

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly stopped = new SharedArrayBuffer(4);
  /** Frames in the WAL and how many are copied, as the worker last saw them. */
  private logFrames = 0;
  private checkpointedFrames = 0;
  lastError: string | null = null;
  private running = true;

  constructor(path: string, intervalMs = LIMITS.walCheckpointIntervalMs) {
    this.worker = new Worker(new URL("./wal-checkpoint-worker.ts", import.meta.url).href);
    this.worker.onmessage = (event: MessageEvent<{ type: string; log?: number; checkpointed?: number; message?: string }>) => {
      const msg = event.data;
      if (msg.type === "checkpointed") {
        this.logFrames = msg.log ?? 0;
        this.checkpointedFrames = msg.checkpointed ?? 0;
        this.lastError = null;
      } else if (msg.type === "error") {
        this.lastError = msg.message ?? "checkpoint failed";
      }
    };
    this.worker.postMessage({ type: "start", path, intervalMs, stopped: this.stopped });
    // A store left open must not keep the process alive.
    this.worker.unref();
  }

  /**
   * Whether the writer should finish the checkpoint now: the WAL is long and the worker has copied
   * nearly all of it, so the writer's share is small and the next write starts the WAL over.
   */
  writerShouldFinish(): boolean {
    return this.running && this.logFrames >= LIMITS.walRestartFrames && this.logFrames - this.checkpointedFrames <= LIMITS.walCatchUpFrames;
  }

  /** The writer finished a checkpoint: the worker's numbers are stale until its next report. */
  finished(): void {
    this.logFrames = 0;
    this.checkpointedFrames = 0;
  }

  /** Closes the worker's connection before the store closes its own (waits, bounded). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    const flag = new Int32Array(this.stopped);
    this.worker.postMessage({ type: "stop" });
    Atomics.wait(flag, 0, 0, LIMITS.walCheckpointerStopTimeoutMs);
    this.worker.terminate();
  }
}
