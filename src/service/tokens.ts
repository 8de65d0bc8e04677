import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { FsError, LIMITS, utf8Length, validateName } from "../types/index.ts";
import type { ServiceCore } from "./core.ts";

// Access tokens: each scoped to mounts and to a role, kept in the metadata as system rows
// `token:<id>` that hold a SHA-256 of the secret, never the secret. SHA-256 rather than a slow
// KDF (scrypt) because the secret is 256 random bits, not a password: no dictionary applies and
// 2^256 guesses stay out of reach however fast the hash; a slow KDF would only hand anyone who
// can send a hello a way to burn metad's CPU. A copy of the database therefore opens nothing.
//
// A token reads `nokv_<id>_<secret>`: the id (public, shown by `token list`) finds the row in one
// map lookup, the secret is compared in constant time over digests.

const PREFIX = "token:";
const ID_BYTES = 6;
const SECRET_BYTES = 32;
const TOKEN_PATTERN = /^nokv_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export const TOKEN_ROLES = ["read-only", "read-write", "admin"] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface TokenInfo {
  id: string;
  name: string;
  role: TokenRole;
  /** Mount names the token may use; "*" for every mount (admin tokens). */
  mounts: "*" | string[];
  createdAtMs: number;
}

interface StoredToken extends TokenInfo {
  secretSha256: string;
}

export interface TokenSpec {
  name?: string;
  role: TokenRole;
  /** Required unless the role is admin; "*" for every mount. */
  mounts?: "*" | string[];
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest();

export class Tokens {
  private readonly byId = new Map<string, StoredToken>();

  constructor(
    private readonly core: ServiceCore,
    private readonly nowMs: () => number = Date.now,
  ) {
    for (const row of core.store.scanSystem(PREFIX)) {
      const token = parseStored(row.text);
      if (token) this.byId.set(token.id, token);
    }
  }

  get count(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Makes a token; the secret is in the returned text only and cannot be shown again. */
  create(spec: TokenSpec): { token: string; info: TokenInfo } {
    const info = this.validate(spec);
    if (this.byId.size >= LIMITS.tokensMax) throw new FsError("ENOSPC", `${LIMITS.tokensMax} tokens exist: revoke some first`);
    let id = randomBytes(ID_BYTES).toString("hex");
    while (this.byId.has(id)) id = randomBytes(ID_BYTES).toString("hex");
    const secret = randomBytes(SECRET_BYTES).toString("base64url");
    const stored: StoredToken = { ...info, id, secretSha256: sha256(secret).toString("hex") };
    const command = this.core.command("token_create", 0);
    command.mutations.push({ family: "system", op: "put", key: { name: PREFIX + id }, value: { text: JSON.stringify(stored) } });
    this.core.commit(command);
    this.byId.set(id, stored);
    return { token: `nokv_${id}_${secret}`, info: publicInfo(stored) };
  }

  list(): TokenInfo[] {
    return [...this.byId.values()].map(publicInfo).sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
  }

  revoke(id: string): TokenInfo {
    const stored = this.byId.get(id);
    if (!stored) throw new FsError("ENOENT", `no token with id '${id.slice(0, 64)}'`);
    const command = this.core.command("token_revoke", 0);
    command.mutations.push({ family: "system", op: "delete", key: { name: PREFIX + id } });
    this.core.commit(command);
    this.byId.delete(id);
    return publicInfo(stored);
  }

  /** The token a presented text names, if its secret matches; null otherwise. */
  verify(presented: unknown): TokenInfo | null {
    if (typeof presented !== "string") return null;
    const match = TOKEN_PATTERN.exec(presented);
    if (!match) return null;
    const stored = this.byId.get(match[1]!);
    if (!stored) return null;
    return timingSafeEqual(sha256(match[2]!), Buffer.from(stored.secretSha256, "hex")) ? publicInfo(stored) : null;
  }

  private validate(spec: TokenSpec): Omit<TokenInfo, "id"> {
    if (!TOKEN_ROLES.includes(spec.role)) throw new FsError("EINVAL", `token role '${String(spec.role)}' is not one of ${TOKEN_ROLES.join(", ")}`);
    const name = spec.name ?? "";
    if (typeof name !== "string" || utf8Length(name) > LIMITS.tokenNameMaxBytes || /[\u0000-\u001f]/.test(name)) {
      throw new FsError("EINVAL", `a token name is printable text of at most ${LIMITS.tokenNameMaxBytes} bytes`);
    }
    const mounts = spec.role === "admin" ? "*" : (spec.mounts ?? []);
    if (mounts !== "*") {
      if (!Array.isArray(mounts) || mounts.length === 0) throw new FsError("EINVAL", `a ${spec.role} token names the mounts it may use (or "*")`);
      if (mounts.length > LIMITS.tokenMountsMax) throw new FsError("EINVAL", `a token names at most ${LIMITS.tokenMountsMax} mounts`);
      for (const mount of mounts) validateName(mount);
    }
    return { name, role: spec.role, mounts: mounts === "*" ? "*" : [...new Set(mounts)].sort(), createdAtMs: this.nowMs() };
  }
}

function publicInfo(stored: StoredToken): TokenInfo {
  return { id: stored.id, name: stored.name, role: stored.role, mounts: stored.mounts === "*" ? "*" : [...stored.mounts], createdAtMs: stored.createdAtMs };
}

/** A stored row back to a token; a row that does not parse is no token (it admits nobody). */
function parseStored(text: string | null): StoredToken | null {
  if (text === null) return null;
  try {
    const value = JSON.parse(text) as StoredToken;
    if (typeof value.id !== "string" || typeof value.secretSha256 !== "string" || !TOKEN_ROLES.includes(value.role)) return null;
    return value;
  } catch {
    return null;
  }
}
