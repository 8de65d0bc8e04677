// The RPC envelopes inside frame payloads, and the one mapping between errors and the wire.
import { FsError, errnoMessage, isErrnoCode, toFsError, type ErrnoCode } from "../types/errno.ts";
import { LIMITS } from "../types/limits.ts";
import type { WatchEvent } from "../types/watch.ts";
import { utf8Length } from "../types/names.ts";
import { describeValue, isPlainObject } from "./args.ts";
import { FLAG_ERROR, FLAG_RESPONSE } from "./frame.ts";

export interface WireRequest {
  op: string;
  args: Record<string, unknown>;
  /** Set by a client that may retry: the server applies a mutation once per key (dedupe). */
  requestKey?: string;
}

export interface WireError {
  code: ErrnoCode;
  /** The full human message ("ENOENT: no such file or directory, lookup 'x'"). */
  message: string;
  path?: string;
  syscall?: string;
}

export type WireResponse<T = unknown> = { ok: true; value: T } | { ok: false; error: WireError };

/** A server-initiated frame (FLAG_PUSH); `subscription` also travels as the frame's request id. */
export interface WirePush {
  kind: "watch";
  subscription: number;
  events: WatchEvent[];
  /** Where the subscription stands after these events ("VERSION.ORDINAL"): resume from it. */
  cursor?: string;
  /** The subscription ended (ESTALE: its cursor fell behind the retained log); no more pushes follow. */
  error?: WireError;
}

export function errorToWire(err: unknown): WireError {
  const fsErr = toFsError(err);
  const wire: WireError = { code: fsErr.code, message: fsErr.message };
  if (fsErr.path !== undefined) wire.path = fsErr.path;
  if (fsErr.syscall !== undefined) wire.syscall = fsErr.syscall;
  return wire;
}

/** Rebuilds the FsError a peer reported: same code, same message, same path and syscall. */
export function wireToError(wire: unknown): FsError {
  if (!isPlainObject(wire) || typeof wire.message !== "string") {
    return new FsError("EPROTO", `malformed error reply: ${describeValue(wire)}`);
  }
  const { code, message } = wire;
  if (!isErrnoCode(code)) {
    // A newer peer's errno we have no name for: keep its words, report an i/o failure.
    return new FsError("EIO", `peer error ${JSON.stringify(String(code))}: ${message}`);
  }
  const prefix = `${code}: ${errnoMessage(code)}`;
  const detail = message.startsWith(`${prefix}, `) ? message.slice(prefix.length + 2) : message === prefix ? "" : message;
  const where = {
    ...(typeof wire.path === "string" ? { path: wire.path } : {}),
    ...(typeof wire.syscall === "string" ? { syscall: wire.syscall } : {}),
  };
  return new FsError(code, detail || undefined, where);
}

export function okResponse<T>(value: T): WireResponse<T> {
  return { ok: true, value };
}

export function errorResponse(err: unknown): WireResponse<never> {
  return { ok: false, error: errorToWire(err) };
}

/** The frame flags that carry `response`: ERROR marks a failure without decoding the payload. */
export function responseFlags(response: WireResponse): number {
  return response.ok ? FLAG_RESPONSE : FLAG_RESPONSE | FLAG_ERROR;
}

function envelopeError(detail: string): FsError {
  return new FsError("EPROTO", detail);
}

function isBoundedString(value: unknown, maxBytes: number): value is string {
  return typeof value === "string" && value.length > 0 && utf8Length(value) <= maxBytes;
}

/** Checks a decoded request envelope; a bad one is EPROTO, answered on its request id. */
export function parseRequest(value: unknown): WireRequest {
  if (!isPlainObject(value)) throw envelopeError(`request must be a map, got ${describeValue(value)}`);
  const { op, args, requestKey } = value;
  if (!isBoundedString(op, LIMITS.opNameMaxBytes)) {
    throw envelopeError(`request.op must be a string of 1..${LIMITS.opNameMaxBytes} bytes, got ${describeValue(op)}`);
  }
  if (!isPlainObject(args)) throw envelopeError(`request.args must be a map, got ${describeValue(args)}`);
  if (requestKey === undefined || requestKey === null) return { op, args };
  if (!isBoundedString(requestKey, LIMITS.requestKeyMaxBytes)) {
    throw envelopeError(
      `request.requestKey must be a string of 1..${LIMITS.requestKeyMaxBytes} bytes, got ${describeValue(requestKey)}`,
    );
  }
  return { op, args, requestKey };
}

/** Checks a decoded response envelope; an error reply becomes `{ok: false}` with a WireError. */
export function parseResponse(value: unknown): WireResponse {
  if (!isPlainObject(value) || typeof value.ok !== "boolean") {
    throw envelopeError(`response must be a map with boolean ok, got ${describeValue(value)}`);
  }
  if (value.ok) return { ok: true, value: value.value };
  const error = wireToError(value.error);
  return { ok: false, error: errorToWire(error) };
}

export function parsePush(value: unknown): WirePush {
  if (!isPlainObject(value) || value.kind !== "watch") {
    throw envelopeError(`push must be a map with kind "watch", got ${describeValue(value)}`);
  }
  const { subscription, events } = value;
  if (!Number.isSafeInteger(subscription) || (subscription as number) <= 0) {
    throw envelopeError(`push.subscription must be a positive integer, got ${describeValue(subscription)}`);
  }
  if (!Array.isArray(events)) throw envelopeError(`push.events must be an array, got ${describeValue(events)}`);
  const push: WirePush = { kind: "watch", subscription: subscription as number, events: events as WatchEvent[] };
  if (typeof value.cursor === "string") push.cursor = value.cursor;
  if (value.error !== undefined && value.error !== null) push.error = errorToWire(wireToError(value.error));
  return push;
}
