import { SingleBar } from "cli-progress";
import { humanBytes } from "../format.ts";

// The transfer progress bar (bytes, rate, ETA) on stderr. Shown on a terminal, never when stderr
// is piped (logs and scripts get no control characters) unless --progress forces it.

export interface Progress {
  /** `bytes` more moved (called from many transfers at once). */
  add(bytes: number): void;
  fileDone(): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  totalBytes: number;
  totalFiles: number;
  /** true/false from --progress / --no-progress; undefined: decide by whether stderr is a TTY. */
  forced: boolean | undefined;
  json: boolean;
  stream?: NodeJS.WriteStream;
}

/** How often a forced bar redraws on a non-terminal stream (each redraw is a new line there). */
const NON_TTY_REDRAW_MS = 500;

const NO_PROGRESS: Progress = { add() {}, fileDone() {}, stop() {} };

export function progressEnabled(forced: boolean | undefined, json: boolean, stream: NodeJS.WriteStream = process.stderr): boolean {
  return forced ?? (stream.isTTY === true && !json);
}

export function startProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (!progressEnabled(options.forced, options.json, stream)) return NO_PROGRESS;
  const startedMs = performance.now();
  let bytes = 0;
  let files = 0;
  const bar = new SingleBar({
    stream,
    format: `${options.label} [{bar}] {percentage}% | {moved}/{size} | {rate} | ETA {eta_formatted} | {files}`,
    barsize: 30,
    hideCursor: stream.isTTY === true,
    noTTYOutput: true,
    notTTYSchedule: NON_TTY_REDRAW_MS,
    etaBuffer: 50,
  });
  const payload = () => {
    const seconds = (performance.now() - startedMs) / 1000;
    return {
      moved: humanBytes(bytes),
      size: humanBytes(options.totalBytes),
      rate: `${humanBytes(seconds > 0 ? bytes / seconds : 0)}/s`,
      files: `${files}/${options.totalFiles} files`,
    };
  };
  // A zero total would make the percentage 0/0: empty files still finish at 100%.
  const total = Math.max(options.totalBytes, 1);
  bar.start(total, 0, payload());
  return {
    add(n) {
      bytes += n;
      bar.update(Math.min(bytes, total), payload());
    },
    fileDone() {
      files++;
      bar.update(Math.min(bytes, total), payload());
    },
    stop() {
      bar.update(total, payload());
      bar.stop();
    },
  };
}
