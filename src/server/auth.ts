import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { FsError, LIMITS } from "../types/index.ts";

// The shared token: metad on a non-loopback address requires one, clients present it in hello.
// Compared in constant time over digests, so neither the bytes nor the length of the token leak
// through timing. The token itself is never logged, echoed in errors or sent anywhere.

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

  /** `Authorization: Bearer TOKEN`. */
  matchesBearer(header: string | undefined): boolean {
    const match = /^Bearer (.+)$/i.exec(header ?? "");
    return match !== null && this.matches(match[1]!.trim());
  }
}

export function accessDenied(): FsError {
  return new FsError("EACCES", "this metad requires a token: present it in hello (connect(url, { token }) or NOKV_TOKEN)");
}

/** 127.0.0.0/8, ::1, localhost: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || /^::ffff:127\./i.test(host);
  return false;
}
