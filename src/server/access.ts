import { errorResponse, type WireRequest, type WireResponse } from "../wire/index.ts";
import type { Tokens } from "../service/tokens.ts";
import type { Admission } from "./admission.ts";
import { ADMIN_GRANT, AuthThrottle, accessDenied, bearerToken, denial, type Grant, type OpTable, type TokenCheck } from "./auth.ts";
import type { ConnectionLimits } from "./config.ts";
import type { Connection } from "./connection.ts";
import { jsonResponse, type HttpRequest, type HttpResponse } from "./http.ts";
import type { Logger } from "./log.ts";
import type { ServerStats } from "./stats.ts";

// Who a connection is and what it may do, for RPC requests and the admin HTTP routes. Tokens are
// on when metad has --token or any token is stored; off, every connection is admin (metad then
// listens on loopback only).

export interface AccessParts {
  sharedToken: TokenCheck | null;
  tokens: Tokens;
  admission: Admission;
  stats: ServerStats;
  limits: ConnectionLimits;
  ops: OpTable;
  log: Logger;
}

export class Access {
  private readonly throttle: AuthThrottle;

  constructor(private readonly parts: AccessParts) {
    this.throttle = new AuthThrottle(parts.limits);
  }

  get required(): boolean {
    return this.parts.sharedToken !== null || this.parts.tokens.count > 0;
  }

  /**
   * Authenticates and authorizes one request; false when it was answered here (EACCES, or a
   * wrong token's delayed answer). A hello carrying a token authenticates, checked as the frame
   * is read, so requests pipelined right behind it are admitted; with tokens off the first frame
   * does.
   */
  admit(conn: Connection, request: WireRequest, reply: (r: WireResponse) => void): boolean {
    if (!this.authenticate(conn, request, reply)) return false;
    const grant = conn.grant!;
    if (grant.tokenId !== null && !this.parts.tokens.has(grant.tokenId)) {
      conn.grant = null;
      reply(errorResponse(accessDenied("this token was revoked")));
      return false;
    }
    const why = denial(grant, request.op, request.args, this.parts.ops);
    if (why === null) return true;
    reply(errorResponse(accessDenied(why)));
    return false;
  }

  private authenticate(conn: Connection, request: WireRequest, reply: (r: WireResponse) => void): boolean {
    if (!this.required) {
      if (!conn.grant) this.grantTo(conn, ADMIN_GRANT);
      return true;
    }
    if (request.op === "hello" && request.args.token !== undefined) {
      const grant = this.verify(request.args.token);
      if (grant) {
        this.grantTo(conn, grant);
        return true;
      }
      this.refuse(conn, reply);
      return false;
    }
    if (conn.grant) return true;
    reply(errorResponse(accessDenied()));
    return false;
  }

  /** A revoked token's connections end now: their watches stop pushing too. */
  dropGrantsOf(tokenId: string): void {
    for (const conn of [...this.parts.admission.all]) {
      if (conn.grant?.tokenId === tokenId) conn.close("token revoked");
    }
  }

  private grantTo(conn: Connection, grant: Grant): void {
    conn.grant = grant;
    this.parts.admission.authenticated(conn);
  }

  /** The grant a presented token carries: --token is admin; stored tokens carry their role. */
  private verify(presented: unknown): Grant | null {
    if (this.parts.sharedToken?.matches(presented)) return ADMIN_GRANT;
    const token = this.parts.tokens.verify(presented);
    return token ? { tokenId: token.id, role: token.role, mounts: token.mounts } : null;
  }

  /**
   * A wrong token: logged with the peer address, answered only after a delay that grows with
   * the address's recent failures (nothing else on the connection runs meanwhile), and the
   * connection closed after authFailuresPerConnectionMax of them.
   */
  private refuse(conn: Connection, reply: (r: WireResponse) => void): void {
    const { stats, limits } = this.parts;
    stats.connections.authFailures++;
    conn.authFailures++;
    const last = conn.authFailures >= limits.authFailuresPerConnectionMax;
    this.parts.log.authFailure({ remote: conn.peer, via: "rpc", reason: "wrong or missing token", failuresOnConnection: conn.authFailures, closing: last });
    conn.hold();
    setTimeout(() => {
      reply(errorResponse(accessDenied("wrong token")));
      if (last) {
        stats.connections.authFailureClosed++;
        conn.close("too many failed authentications");
      } else {
        conn.release();
      }
    }, this.throttle.failed(conn.peer));
  }

  /**
   * With tokens on, /stats and POST /gc need `Authorization: Bearer <admin token>`: null when
   * given, else the 401 to send (after the failure delay when a wrong token was presented; the
   * connection stays unauthenticated meanwhile, so it can be evicted).
   */
  async httpAdmin(conn: Connection, request: HttpRequest): Promise<HttpResponse | null> {
    if (!this.required) return null;
    const presented = bearerToken(request.headers.get("authorization"));
    const grant = presented === undefined ? null : this.verify(presented);
    if (grant?.role === "admin") {
      // Authenticated: a long GC pass must not count against (or be evicted from) the pre-auth budget.
      this.parts.admission.authenticated(conn);
      return null;
    }
    if (presented !== undefined && !grant) {
      this.parts.stats.connections.authFailures++;
      this.parts.log.authFailure({ remote: conn.peer, via: "http", reason: `wrong or missing token for ${request.method} ${request.path}` });
      await Bun.sleep(this.throttle.failed(conn.peer));
    }
    return jsonResponse(401, { error: `${request.method} ${request.path} needs Authorization: Bearer <admin token>` });
  }
}
