// A minimal etcd v3 client over the JSON gateway every etcd 3.4 member serves at /v3/... on its
// client URL. Why not the npm `etcd3` package (it works under Bun): it brings gRPC, protobuf and a
// circuit breaker whose back-off stretches a failover; here every request has its own deadline and
// moves to the next member at once when one does not answer, which is what failover timing needs.
// Keys and values travel base64; int64 fields travel as decimal strings and are absent when zero.
import { FsError } from "../../types/index.ts";
import { LIMITS } from "../../types/limits.ts";

export interface KeyValue {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: string;
}

export interface RangeResult {
  kvs: KeyValue[];
  more: boolean;
  count: number;
  /** The store revision the range was read at. */
  revision: number;
}

export type CompareTarget = "VALUE" | "VERSION" | "CREATE" | "MOD" | "LEASE";

export interface Compare {
  key: Uint8Array;
  target: CompareTarget;
  /** EQUAL unless said otherwise. */
  result?: "EQUAL" | "GREATER" | "LESS" | "NOT_EQUAL";
  value?: Uint8Array;
  /** For VERSION, CREATE, MOD (a revision or version) and LEASE (the lease id, decimal). */
  number?: number | string;
}

export type TxnOp =
  | { put: { key: Uint8Array; value: Uint8Array; lease?: string } }
  | { deleteRange: { key: Uint8Array; rangeEnd?: Uint8Array } }
  | { range: { key: Uint8Array; rangeEnd?: Uint8Array; limit?: number } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** One per op of the branch that ran; range ops carry their kvs. */
  responses: { kvs?: KeyValue[]; deleted?: number }[];
}

export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
}

export interface EtcdClientOptions {
  /** Client URLs of the members, e.g. http://127.0.0.1:2379. */
  endpoints: string[];
  /** Deadline of one request to one member before the next member is tried. */
  requestTimeoutMs?: number;
  /** How long one call keeps trying members before it fails. */
  requestDeadlineMs?: number;
}

/** An etcd request that failed on every member, or that etcd refused (code = gRPC status). */
export class EtcdError extends FsError {
  constructor(
    message: string,
    readonly grpcCode: number | null,
  ) {
    super(grpcCode === null ? "ETIMEDOUT" : grpcCode === 3 || grpcCode === 8 ? "EFBIG" : "EIO", message);
  }
}

const enc = new TextEncoder();
export const utf8 = (s: string): Uint8Array => enc.encode(s);
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
const unb64 = (s: string | undefined): Uint8Array => (s ? new Uint8Array(Buffer.from(s, "base64")) : new Uint8Array(0));
const num = (s: string | number | undefined): number => (s === undefined ? 0 : Number(s));

/** The smallest key above every key starting with `prefix` (etcd's "range_end" of a prefix). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

type Json = Record<string, unknown>;

function decodeKv(kv: Json): KeyValue {
  return {
    key: unb64(kv.key as string),
    value: unb64(kv.value as string | undefined),
    createRevision: num(kv.create_revision as string),
    modRevision: num(kv.mod_revision as string),
    version: num(kv.version as string),
    lease: String(kv.lease ?? "0"),
  };
}

function encodeOp(op: TxnOp): Json {
  if ("put" in op) {
    return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease ? { lease: op.put.lease } : {}) } };
  }
  if ("deleteRange" in op) {
    return { request_delete_range: { key: b64(op.deleteRange.key), ...(op.deleteRange.rangeEnd ? { range_end: b64(op.deleteRange.rangeEnd) } : {}) } };
  }
  return {
    request_range: {
      key: b64(op.range.key),
      ...(op.range.rangeEnd ? { range_end: b64(op.range.rangeEnd) } : {}),
      ...(op.range.limit ? { limit: String(op.range.limit) } : {}),
    },
  };
}

function encodeCompare(c: Compare): Json {
  const out: Json = { key: b64(c.key), target: c.target, result: c.result ?? "EQUAL" };
  if (c.target === "VALUE") out.value = b64(c.value ?? new Uint8Array(0));
  if (c.target === "VERSION") out.version = String(c.number ?? 0);
  if (c.target === "CREATE") out.create_revision = String(c.number ?? 0);
  if (c.target === "MOD") out.mod_revision = String(c.number ?? 0);
  if (c.target === "LEASE") out.lease = String(c.number ?? 0);
  return out;
}

/** gRPC codes worth another member: unavailable, deadline exceeded, aborted/leader changes, unknown. */
const RETRYABLE_GRPC = new Set([2, 4, 10, 14]);

export class EtcdClient {
  readonly endpoints: string[];
  private current = 0;
  private readonly requestTimeoutMs: number;
  private readonly requestDeadlineMs: number;
  private closed = false;
  private readonly watchAborts = new Set<AbortController>();

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new FsError("EINVAL", "etcd: no endpoints given");
    this.endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ""));
    this.requestTimeoutMs = options.requestTimeoutMs ?? LIMITS.etcdRequestTimeoutMs;
    this.requestDeadlineMs = options.requestDeadlineMs ?? LIMITS.etcdRequestDeadlineMs;
  }

  /**
   * One JSON call to one member (endpoint given), or to whichever member answers: a member that
   * refuses the connection, times out or has no raft leader (an election) hands the call to the
   * next one, with a growing pause after each round, until the request deadline has passed.
   */
  async call(path: string, body: Json, endpoint?: string): Promise<Json> {
    const deadline = performance.now() + this.requestDeadlineMs;
    let backoffMs: number = LIMITS.etcdRetryBackoffMs;
    let last = "";
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new EtcdError("etcd: client closed", null);
      const url = endpoint ?? this.endpoints[this.current % this.endpoints.length]!;
      try {
        const res = await fetch(`${url}${path}`, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
          signal: AbortSignal.timeout(this.requestTimeoutMs),
        });
        const json = (await res.json()) as Json;
        if (res.ok && json.error === undefined) return json;
        const code = typeof json.code === "number" ? json.code : null;
        last = `${url}: ${String(json.message ?? json.error ?? res.status)}`;
        if (code !== null && !RETRYABLE_GRPC.has(code)) throw new EtcdError(`etcd ${path}: ${last}`, code);
      } catch (err) {
        if (err instanceof EtcdError) throw err;
        last = `${url}: ${(err as Error).message}`;
      }
      if (endpoint || performance.now() >= deadline) break;
      this.current++;
      if (attempt % this.endpoints.length === 0) {
        await Bun.sleep(Math.min(backoffMs, Math.max(0, deadline - performance.now())));
        backoffMs = Math.min(backoffMs * 2, LIMITS.etcdRetryBackoffMaxMs);
      }
    }
    throw new EtcdError(`etcd ${path}: no member answered (last: ${last})`, null);
  }

  async range(key: Uint8Array, options: { rangeEnd?: Uint8Array; limit?: number; descending?: boolean; keysOnly?: boolean; countOnly?: boolean; revision?: number } = {}): Promise<RangeResult> {
    const json = await this.call("/v3/kv/range", {
      key: b64(key),
      ...(options.rangeEnd ? { range_end: b64(options.rangeEnd) } : {}),
      ...(options.limit ? { limit: String(options.limit) } : {}),
      ...(options.descending ? { sort_order: "DESCEND", sort_target: "KEY" } : {}),
      ...(options.keysOnly ? { keys_only: true } : {}),
      ...(options.countOnly ? { count_only: true } : {}),
      ...(options.revision ? { revision: String(options.revision) } : {}),
    });
    const kvs = ((json.kvs as Json[] | undefined) ?? []).map(decodeKv);
    return { kvs, more: json.more === true, count: num(json.count as string), revision: num((json.header as Json).revision as string) };
  }

  async get(key: Uint8Array): Promise<KeyValue | null> {
    return (await this.range(key)).kvs[0] ?? null;
  }

  async put(key: Uint8Array, value: Uint8Array, lease?: string): Promise<number> {
    const json = await this.call("/v3/kv/put", { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
    return num((json.header as Json).revision as string);
  }

  async deleteRange(key: Uint8Array, rangeEnd?: Uint8Array): Promise<number> {
    const json = await this.call("/v3/kv/deleterange", { key: b64(key), ...(rangeEnd ? { range_end: b64(rangeEnd) } : {}) });
    return num(json.deleted as string);
  }

  async txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Promise<TxnResult> {
    if (compare.length + Math.max(success.length, failure.length) > LIMITS.etcdTxnMaxOps) {
      throw new FsError("EINVAL", `etcd txn: ${success.length} ops above ${LIMITS.etcdTxnMaxOps} per transaction`);
    }
    const json = await this.call("/v3/kv/txn", {
      compare: compare.map(encodeCompare),
      success: success.map(encodeOp),
      failure: failure.map(encodeOp),
    });
    const responses = ((json.responses as Json[] | undefined) ?? []).map((r) => {
      const range = r.response_range as Json | undefined;
      const del = r.response_delete_range as Json | undefined;
      return { ...(range ? { kvs: ((range.kvs as Json[] | undefined) ?? []).map(decodeKv) } : {}), ...(del ? { deleted: num(del.deleted as string) } : {}) };
    });
    return { succeeded: json.succeeded === true, revision: num((json.header as Json).revision as string), responses };
  }

  /** A lease of ttlS seconds; returns its id (decimal string). */
  async leaseGrant(ttlS: number): Promise<string> {
    const json = await this.call("/v3/lease/grant", { TTL: String(ttlS) });
    return String(json.ID);
  }

  /** Refreshes the lease; returns its remaining TTL in seconds, 0 when it has expired. */
  async leaseKeepAlive(id: string): Promise<number> {
    const json = await this.call("/v3/lease/keepalive", { ID: id });
    return num(((json.result as Json | undefined) ?? {}).TTL as string);
  }

  async leaseRevoke(id: string): Promise<void> {
    try {
      await this.call("/v3/lease/revoke", { ID: id });
    } catch (err) {
      // A lease that already expired is what revoking wanted.
      if (!(err instanceof EtcdError) || err.grpcCode !== 5) throw err;
    }
  }

  /** Compacts history below `revision` on every member (physical: waits until it is applied). */
  async compact(revision: number): Promise<void> {
    try {
      await this.call("/v3/kv/compaction", { revision: String(revision), physical: true });
    } catch (err) {
      // "required revision has been compacted": someone compacted further already.
      if (!(err instanceof EtcdError) || err.grpcCode !== 11) throw err;
    }
  }

  /** Defragments one member's backend file (blocks that member while it runs). */
  async defragment(endpoint: string): Promise<void> {
    await this.call("/v3/maintenance/defragment", {}, endpoint);
  }

  async status(endpoint: string): Promise<{ dbSizeBytes: number; dbSizeInUseBytes: number; leader: string; memberId: string; revision: number }> {
    const json = await this.call("/v3/maintenance/status", {}, endpoint);
    const header = json.header as Json;
    return {
      dbSizeBytes: num(json.dbSize as string),
      dbSizeInUseBytes: num(json.dbSizeInUse as string),
      leader: String(json.leader ?? "0"),
      memberId: String(header.member_id ?? "0"),
      revision: num(header.revision as string),
    };
  }

  /** Client URLs of every member the cluster lists. */
  async memberEndpoints(): Promise<string[]> {
    const json = await this.call("/v3/cluster/member/list", {});
    return ((json.members as Json[] | undefined) ?? []).flatMap((m) => (m.clientURLs as string[] | undefined) ?? []);
  }

  /**
   * Streams events under [key, rangeEnd) from startRevision until the signal aborts or the stream
   * ends (member lost, compacted start: the error says which). Callers re-read and re-watch.
   */
  async *watch(key: Uint8Array, options: { rangeEnd?: Uint8Array; startRevision?: number; signal?: AbortSignal }): AsyncGenerator<WatchEvent[]> {
    const abort = new AbortController();
    this.watchAborts.add(abort);
    const onAbort = () => abort.abort();
    options.signal?.addEventListener("abort", onAbort);
    if (options.signal?.aborted) abort.abort();
    const url = this.endpoints[this.current % this.endpoints.length]!;
    try {
      const res = await fetch(`${url}/v3/watch`, {
        method: "POST",
        body: JSON.stringify({
          create_request: {
            key: b64(key),
            ...(options.rangeEnd ? { range_end: b64(options.rangeEnd) } : {}),
            ...(options.startRevision ? { start_revision: String(options.startRevision) } : {}),
          },
        }),
        signal: abort.signal,
      });
      if (!res.ok || !res.body) throw new EtcdError(`etcd watch: ${url}: HTTP ${res.status}`, null);
      const decoder = new TextDecoder();
      let buffered = "";
      // Stopping ends a read waiting on the stream by cancelling its reader, whatever the fetch
      // does with its signal: an idle watch never sends again, so a read left waiting never ends.
      const reader = res.body.getReader();
      const cancel = () => void reader.cancel().catch(() => undefined);
      abort.signal.addEventListener("abort", cancel);
      if (abort.signal.aborted) cancel();
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) break;
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === "") continue;
          const message = JSON.parse(line) as Json;
          const result = message.result as Json | undefined;
          if (!result) throw new EtcdError(`etcd watch: ${url}: ${String((message.error as Json | undefined)?.message ?? line)}`, null);
          if (result.compact_revision !== undefined && result.compact_revision !== "0") {
            throw new EtcdError(`etcd watch: start revision compacted (now ${String(result.compact_revision)})`, 11);
          }
          if (result.canceled === true) throw new EtcdError(`etcd watch: canceled: ${String(result.cancel_reason ?? "")}`, null);
          const events = ((result.events as Json[] | undefined) ?? []).map((e) => ({
            type: (e.type === "DELETE" ? "DELETE" : "PUT") as "PUT" | "DELETE",
            kv: decodeKv(e.kv as Json),
          }));
          if (events.length > 0) yield events;
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      // The member went away: the next watch starts on the next member.
      this.current++;
      throw err instanceof EtcdError ? err : new EtcdError(`etcd watch: ${url}: ${(err as Error).message}`, null);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      this.watchAborts.delete(abort);
      abort.abort();
    }
  }

  close(): void {
    this.closed = true;
    for (const abort of this.watchAborts) abort.abort();
  }
}
