// metad's operational log: one line per event on stderr, either plain text for a terminal or one
// JSON object per line (--log-format json) for a log pipeline. Events that matter to an
// operator -- auth failures, GC errors, slow operations -- go through here with fixed names and
// fields, so they can be alerted on.

import { LIMITS } from "../types/index.ts";

export type LogFormat = "text" | "json";
export type LogLevel = "info" | "warn" | "error";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** The events metad logs by name; fields are event-specific and never carry a secret. */
export type LogEvent = "auth_failure" | "gc_error" | "slow_op" | "startup" | "shutdown" | "cluster";

export class Logger {
  private slowWindowStartMs = 0;
  private slowInWindow = 0;
  /** Slow-op lines not written because of the rate limit, reported with the next one. */
  private slowSuppressed = 0;

  constructor(
    readonly format: LogFormat,
    private readonly write: (line: string) => void = (line) => void process.stderr.write(line),
    private readonly nowMs: () => number = Date.now,
  ) {}

  log(level: LogLevel, event: LogEvent, message: string, fields: Record<string, unknown> = {}): void {
    if (this.format === "json") {
      const record = { time: new Date(this.nowMs()).toISOString(), level, event, msg: message, ...fields };
      this.write(`${JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
      return;
    }
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : String(v)}`)
      .join(" ");
    this.write(`metad: ${level === "info" ? "" : `${level}: `}${message}${extra ? ` (${extra})` : ""}\n`);
  }

  /** A client failed to authenticate: who (address) and how, never what it sent. */
  authFailure(fields: { remote?: string; via: "rpc" | "http"; reason: string; failuresOnConnection?: number; closing?: boolean }): void {
    this.log("warn", "auth_failure", `authentication failed over ${fields.via}${fields.remote ? ` from ${fields.remote}` : ""}`, fields);
  }

  /** One line per GC pass that had errors, not one per object. */
  gcError(fields: { failures: number; lastError: string }): void {
    this.log("error", "gc_error", `gc pass had ${fields.failures} failure(s)`, fields);
  }

  /** Replication: a step-down, a refused append, a halted shard (src/server/cluster-node.ts). */
  clusterEvent(message: string): void {
    this.log("warn", "cluster", message);
  }

  /** An op over LIMITS.slowOpLogThresholdUs; rate-limited so a stall does not flood the log. */
  slowOp(op: string, latencyUs: number, failed: boolean): void {
    const now = this.nowMs();
    if (now - this.slowWindowStartMs >= 1000) {
      this.slowWindowStartMs = now;
      this.slowInWindow = 0;
    }
    if (this.slowInWindow >= LIMITS.slowOpLogMaxPerSecond) {
      this.slowSuppressed++;
      return;
    }
    this.slowInWindow++;
    const suppressed = this.slowSuppressed;
    this.slowSuppressed = 0;
    this.log("warn", "slow_op", `slow ${op}: ${(latencyUs / 1000).toFixed(1)} ms`, {
      op,
      latencyMs: Math.round(latencyUs) / 1000,
      thresholdMs: LIMITS.slowOpLogThresholdUs / 1000,
      failed,
      ...(suppressed > 0 ? { suppressedBefore: suppressed } : {}),
    });
  }
}

export function parseLogFormat(text: string): LogFormat | null {
  return (LOG_FORMATS as readonly string[]).includes(text) ? (text as LogFormat) : null;
}
