import { Database } from "bun:sqlite";

// The checkpoint worker (see wal-checkpointer.ts): its own connection to the store's file, a
// PASSIVE checkpoint every interval (never blocks the writer), each result reported back. On
// "stop" it closes its connection and says so through the shared flag the store waits on; the
// store then terminates the thread.

declare const self: Worker;

interface Start {
  type: "start";
  path: string;
  intervalMs: number;
  stopped: SharedArrayBuffer;
}

let db: Database | null = null;
let checkpoint: ReturnType<Database["prepare"]> | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;

function tick(intervalMs: number): void {
  timer = null;
  if (!db) return;
  try {
    const row = checkpoint!.get() as { busy: number; log: number; checkpointed: number };
    postMessage({ type: "checkpointed", log: row.log, checkpointed: row.checkpointed });
  } catch (err) {
    // A busy or failing checkpoint is retried next tick; the writer's fallback bounds the WAL.
    postMessage({ type: "error", message: (err as Error).message });
  }
  timer = setTimeout(() => tick(intervalMs), intervalMs);
}

self.onmessage = (event: MessageEvent<Start | { type: "stop" }>) => {
  const msg = event.data;
  if (msg.type === "start") {
    db = new Database(msg.path);
    db.run("PRAGMA busy_timeout = 1000");
    checkpoint = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
    stoppedFlag = new Int32Array(msg.stopped);
    timer = setTimeout(() => tick(msg.intervalMs), msg.intervalMs);
    return;
  }
  if (timer) clearTimeout(timer);
  timer = null;
  // Finalized first: a connection closed with a live statement lingers, and with it its hold on
  // the WAL, so the store's own close would no longer be the last one (which removes the WAL).
  checkpoint?.finalize();
  checkpoint = null;
  db?.close();
  db = null;
  if (stoppedFlag) {
    Atomics.store(stoppedFlag, 0, 1);
    Atomics.notify(stoppedFlag, 0);
  }
};

let stoppedFlag: Int32Array | null = null;
