import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { FsError, LIMITS } from "../types/index.ts";
import type { TokenRole } from "../service/tokens.ts";

// Who may do what. The shared `--token` is an admin token compared in constant time over
// digests, so neither the bytes nor the length of the token leak through timing; stored tokens
// (src/service/tokens.ts) add read-only, read-write and admin roles scoped to mounts. No token is
// ever logged, echoed in errors or sent anywhere.

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

export class TokenCheck {
  private readonly expected: Buffer;

  constructor(token: string) {
    if (token.length === 0 || Buffer.byteLength(token) > LIMITS.authTokenMaxBytes) {
      throw new Error(`the token must be 1..${LIMITS.authTokenMaxBytes} bytes`);
    }
    this.expected = digest(token);
  }

  matches(presented: unknown): boolean {
    if (typeof presented !== "string" || presented.length === 0 || Buffer.byteLength(presented) > LIMITS.authTokenMaxBytes) return false;
    return timingSafeEqual(digest(presented), this.expected);
  }
}

/** `Authorization: Bearer TOKEN` to the token text, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer (.+)$/i.exec(header ?? "");
  return match === null ? undefined : match[1]!.trim();
}

/** What an authenticated connection may do. */
export interface Grant {
  /** The stored token it came from (revoking it ends the grant); null for --token or no auth. */
  tokenId: string | null;
  role: TokenRole;
  mounts: "*" | readonly string[];
}

export const ADMIN_GRANT: Grant = { tokenId: null, role: "admin", mounts: "*" };

/** Ops about the whole server, not one mount: an admin token only. */
const ADMIN_OPS = new Set(["mount_create", "gc", "stats", "token_create", "token_list", "token_revoke"]);
/** Ops that name no mount (hello names one by name, checked below). */
const MOUNTLESS_OPS = new Set(["hello", "mounts_list", "watch_unsubscribe"]);

export interface OpTable {
  /** Whether an op exists (an own property of the table) and whether it writes. */
  isOp(op: string): boolean;
  isWrite(op: string): boolean;
  /** The name of a mount id, undefined when there is no such mount. */
  mountName(id: number): string | undefined;
}

/** Why `grant` may not run the request, or null when it may. */
export function denial(grant: Grant, op: string, args: Record<string, unknown>, ops: OpTable, nested = false): string | null {
  if (grant.role === "admin") return null;
  if (ADMIN_OPS.has(op)) return `op '${op}' needs an admin token`;
  if (op === "batch") {
    if (nested) return "a batch inside a batch";
    if (!Array.isArray(args.ops)) return null;
    for (const sub of args.ops as unknown[]) {
      const s = sub as { op?: unknown; args?: unknown } | null;
      if (typeof s?.op !== "string" || typeof s.args !== "object" || s.args === null) continue; // the batch reader refuses it
      const why = denial(grant, s.op, s.args as Record<string, unknown>, ops, true);
      if (why) return why;
    }
    return null;
  }
  if (!ops.isOp(op)) return null; // ENOSYS from dispatch
  if (grant.role === "read-only" && ops.isWrite(op)) return `op '${op}' writes and this token is read-only`;
  if (op === "hello") return typeof args.mount === "string" && !inScope(grant, args.mount) ? notScoped(args.mount) : null;
  if (MOUNTLESS_OPS.has(op)) return null;
  if (typeof args.mount !== "number") return `op '${op}' needs a mount id with this token`;
  const name = ops.mountName(args.mount);
  if (name === undefined) return null; // ENOENT from the op
  return inScope(grant, name) ? null : notScoped(name);
}

export function inScope(grant: Grant, mountName: string): boolean {
  return grant.mounts === "*" || grant.mounts.includes(mountName);
}

function notScoped(mountName: string): string {
  return `this token is not scoped to mount '${mountName.slice(0, LIMITS.nameMaxBytes)}'`;
}

export function accessDenied(why?: string): FsError {
  return new FsError("EACCES", why ?? "this metad requires a token: present it in hello (connect(url, { token }) or NOKV_TOKEN)");
}

/**
 * Failed authentications per peer address, so the delay before each answer doubles with the
 * address's recent failures; bounded, the least recently failing address is forgotten first.
 */
export class AuthThrottle {
  private readonly byAddress = new Map<string, { failures: number; lastMs: number }>();

  constructor(private readonly limits: { authFailureDelayMs: number; authFailureDelayMaxMs: number }) {}

  /** Records a failure and returns how long to wait before answering it. */
  failed(address: string, nowMs = Date.now()): number {
    let entry = this.byAddress.get(address);
    if (entry && nowMs - entry.lastMs > LIMITS.authThrottleWindowMs) entry = undefined;
    this.byAddress.delete(address);
    const failures = (entry?.failures ?? 0) + 1;
    this.byAddress.set(address, { failures, lastMs: nowMs });
    if (this.byAddress.size > LIMITS.authThrottleAddressesMax) this.byAddress.delete(this.byAddress.keys().next().value!);
    return Math.min(this.limits.authFailureDelayMaxMs, this.limits.authFailureDelayMs * 2 ** Math.min(failures - 1, 20));
  }
}

/** 127.0.0.0/8, ::1, localhost: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || /^::ffff:127\./i.test(host);
  return false;
}
