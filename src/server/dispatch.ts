import { FsError, LIMITS, toFsError } from "../types/index.ts";
import {
  RawValue, argArray, arrayItems, decodePayload, encodeOkArray, encodePayload, encodeRawMap, errorResponse, okResponse, parseRequest, resultToWire, type WireRequest, type WireResponse,
} from "../wire/index.ts";
import { DATA_OPS } from "./ops-data.ts";
import { NAMESPACE_OPS, createEachArgs } from "./ops-namespace.ts";
import { createEach, type CreateEachEntry, type ServiceCore } from "../service/index.ts";
import { WORKSPACE_OPS } from "./ops-workspace.ts";
import type { OpContext, OpSpec } from "./op-context.ts";

// The op table and the one way a request becomes a response. `batch` runs its sub-requests in
// order, each with its own result; consecutive creates, or unlinks, in one directory become one
// command.

export const OPS: Readonly<Record<string, OpSpec>> = { ...NAMESPACE_OPS, ...DATA_OPS, ...WORKSPACE_OPS };

/** The op named `name`: own entries of the table only, so `__proto__` or `toString` is ENOSYS like any unknown name. */
export function opSpec(name: string): OpSpec | undefined {
  return Object.hasOwn(OPS, name) ? OPS[name] : undefined;
}

for (const [name, spec] of Object.entries(OPS)) {
  if (typeof spec.run !== "function") throw new Error(`op table: ${name} has no handler`);
}

/** A batch writes only if one of its ops does; a batch of reads needs no write transaction. */
export function isWriteRequest(request: WireRequest): boolean {
  if (request.op !== "batch") return opSpec(request.op)?.write === true;
  const ops = request.args.ops;
  if (!Array.isArray(ops)) return false;
  return ops.some((sub) => typeof sub?.op !== "string" || opSpec(sub.op)?.write !== false);
}

export function isAsyncRequest(request: WireRequest): boolean {
  return opSpec(request.op)?.async === true;
}

/** Reads that answer one inode's attributes: their replies are kept encoded with the attributes (ServiceCore.encodedRead). */
const ATTRS_READS: ReadonlySet<string> = new Set(["lookup", "getattr", "stat_path", "lstat_path"]);

export type OpObserver = (op: string, latencyUs: number, failed: boolean) => void;

/**
 * Runs one synchronous request (not an async op) and always returns a response. A top-level
 * write's result goes out as the bytes it was encoded to for dedupe, an attributes read's as the
 * bytes cached with them (`raw`); batch members never.
 */
export function execute(ctx: OpContext, request: WireRequest, observe: OpObserver, raw = false): WireResponse {
  if (request.op === "batch") return runBatch(ctx, request, observe);
  const started = performance.now();
  let response: WireResponse;
  try {
    const spec = opSpec(request.op);
    if (!spec || spec.async) throw new FsError("ENOSYS", `unknown op '${request.op}'`);
    const value = spec.run(ctx, request.args, spec.write ? request.requestKey : undefined);
    const core = ctx.service.core;
    if (raw && request.op === "create_prepared") response = okResponse(createdValue(core, value as object));
    else {
      const encoded = !raw ? null : spec.write ? core.encodedOf(value) : ATTRS_READS.has(request.op) ? core.encodedRead(value as object) : null;
      response = okResponse(encoded ? new RawValue(encoded) : resultToWire(request.op, value));
    }
  } catch (err) {
    response = errorResponse(toFsError(err));
  }
  observe(request.op, (performance.now() - started) * 1000, !response.ok);
  return response;
}

export async function executeAsync(ctx: OpContext, request: WireRequest, observe: OpObserver): Promise<WireResponse> {
  const started = performance.now();
  let response: WireResponse;
  try {
    response = okResponse(await opSpec(request.op)!.run(ctx, request.args, undefined));
  } catch (err) {
    response = errorResponse(err);
  }
  observe(request.op, (performance.now() - started) * 1000, !response.ok);
  return response;
}

function runBatch(ctx: OpContext, request: WireRequest, observe: OpObserver): WireResponse {
  let subs: WireRequest[];
  try {
    subs = argArray(request.args, "ops", { maxLength: LIMITS.batchMaxOps }).map((sub, i) => {
      try {
        const parsed = parseRequest(sub);
        if (parsed.op === "batch" || opSpec(parsed.op)?.async) throw new FsError("EINVAL", `op '${parsed.op}' cannot be batched`);
        if (parsed.requestKey === undefined && request.requestKey !== undefined) parsed.requestKey = `${request.requestKey}#${i}`;
        return parsed;
      } catch (err) {
        throw new FsError("EINVAL", `batch op ${i}: ${toFsError(err).message}`);
      }
    });
  } catch (err) {
    return errorResponse(err);
  }
  const results: WireResponse[] = new Array(subs.length);
  for (let i = 0; i < subs.length; ) {
    const run = mergeableRun(subs, i);
    const merged = run > 1 && (subs[i]!.op === "create" ? runMergedCreates(ctx, subs, i, run, results, observe) : runMergedRemoves(ctx, subs, i, run, results, observe));
    if (merged) {
      i += run;
      continue;
    }
    results[i] = execute(ctx, subs[i]!, observe);
    i++;
  }
  // Merged creates answer with views of their result's encoded bytes: when every member did, the
  // reply is those bytes framed, with nothing encoded again.
  const raw = results.map((r) => (r.ok && r.value instanceof RawValue ? r.value.bytes : null));
  if (!raw.includes(null)) return okResponse(new RawValue(encodeOkArray(raw as Uint8Array[])));
  return okResponse(results.map((r) => (r.ok && r.value instanceof RawValue ? okResponse(decodePayload(r.value.bytes)) : r)));
}

/**
 * How many requests from `start` one command can carry: creates sharing mount, parent and owner,
 * or plain unlinks (no keepOpen, no returnParent) sharing mount and parent.
 */
function mergeableRun(subs: WireRequest[], start: number): number {
  const first = subs[start]!;
  const plainUnlink = (a: Record<string, unknown>) => a.keepOpen === undefined && (a.returnParent === undefined || a.returnParent === false);
  let max: number;
  let same: (a: Record<string, unknown>, b: Record<string, unknown>) => boolean;
  if (first.op === "create") {
    max = LIMITS.createManyMaxNames;
    same = (a, b) => a.mount === b.mount && a.parent === b.parent && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
  } else if (first.op === "unlink" && plainUnlink(first.args)) {
    max = LIMITS.removeManyMaxNames;
    same = (a, b) => a.mount === b.mount && a.parent === b.parent && plainUnlink(b);
  } else return 1;
  let end = start + 1;
  while (end < subs.length && end - start < max && subs[end]!.op === first.op && same(first.args, subs[end]!.args)) end++;
  return end - start;
}

/**
 * One remove_files command for a run of unlinks. If it fails (a name missing, a directory), the
 * run falls back to one command per unlink so each gets its own answer; returns false then.
 */
function runMergedRemoves(ctx: OpContext, subs: WireRequest[], start: number, count: number, results: WireResponse[], observe: OpObserver): boolean {
  const first = subs[start]!;
  const names = subs.slice(start, start + count).map((s) => s.args.name);
  if (!names.every((n) => typeof n === "string")) return false;
  const keyed = first.requestKey !== undefined ? { requestKey: `${first.requestKey}..${count}` } : {};
  const merged: WireRequest = { op: "remove_files", args: { mount: first.args.mount, parent: first.args.parent, names }, ...keyed };
  if (!execute(ctx, merged, observe).ok) return false;
  // What a plain unlink answers.
  for (let j = 0; j < count; j++) results[start + j] = okResponse(resultToWire("unlink", undefined));
  return true;
}

/**
 * One create_files command for a run of creates. If it fails (a name exists, a bad name), the run
 * falls back to one command per create so each gets its own answer; returns false then.
 */
function runMergedCreates(ctx: OpContext, subs: WireRequest[], start: number, count: number, results: WireResponse[], observe: OpObserver): boolean {
  const first = subs[start]!;
  const names = subs.slice(start, start + count).map((s) => s.args.name);
  if (!names.every((n) => typeof n === "string")) return false;
  const keyed = first.requestKey !== undefined ? { requestKey: `${first.requestKey}..${count}` } : {};
  const merged: WireRequest = { op: "create_files", args: { ...first.args, names }, ...keyed };
  const response = execute(ctx, merged, observe, true);
  if (!response.ok) return false;
  const raw = response.value instanceof RawValue ? response.value.bytes : null;
  const items = raw ? arrayItems(raw) : null;
  if (items?.length === count) {
    items.forEach((bytes, j) => (results[start + j] = okResponse(new RawValue(bytes))));
    return true;
  }
  const values = raw ? decodePayload(raw) : response.value;
  if (!Array.isArray(values)) return false;
  values.forEach((attrs, j) => (results[start + j] = okResponse(attrs)));
  return true;
}

/**
 * A run of single `create` and `create_prepared` requests from any connections, as one command per
 * mount (createEach): each request still gets its own answer, and its exactly-once key is
 * recorded with it.
 */
export function executeCreates(jobs: ReadonlyArray<{ ctx: OpContext; request: WireRequest }>, observe: OpObserver): WireResponse[] {
  const started = performance.now();
  const responses: WireResponse[] = new Array(jobs.length);
  const byMount = new Map<number, Array<[number, CreateEachEntry]>>();
  jobs.forEach(({ ctx, request }, i) => {
    try {
      const args = createEachArgs(ctx, request.op, request.args, request.requestKey);
      let list = byMount.get(args.mount);
      if (!list) byMount.set(args.mount, (list = []));
      list.push([i, args]);
    } catch (err) {
      responses[i] = errorResponse(toFsError(err));
    }
  });
  for (const [mount, list] of byMount) {
    const service = jobs[list[0]![0]]!.ctx.service;
    const results = createEach(service.core, mount, list.map(([, args]) => args));
    results.forEach((result, j) => {
      const i = list[j]![0];
      responses[i] = result instanceof FsError ? errorResponse(result) : okResponse(createdValue(service.core, result));
    });
  }
  const latencyUs = ((performance.now() - started) * 1000) / Math.max(1, jobs.length);
  jobs.forEach(({ request }, i) => observe(request.op, latencyUs, !responses[i]!.ok));
  return responses;
}

/**
 * A createEach result as the wire carries it, from the bytes createEach encoded it (or, for
 * create_prepared, its attributes) to for dedupe: nothing encoded twice. A replayed result is the
 * bytes its dedupe record holds.
 */
function createdValue(core: ServiceCore, result: object): unknown {
  const whole = core.encodedOf(result);
  if (whole) return new RawValue(whole);
  if (!("prepared" in result)) return resultToWire("create", result);
  const { attrs, prepared } = result as { attrs: object; prepared: unknown };
  const encodedAttrs = core.encodedOf(attrs);
  return encodedAttrs ? new RawValue(encodeRawMap([["attrs", encodedAttrs], ["prepared", encodePayload(prepared)]])) : resultToWire("create_prepared", result);
}

/** Whether a request can join a merged run of creates. */
export function isMergeableCreate(request: WireRequest): boolean {
  return request.op === "create" || request.op === "create_prepared";
}
