import { FsError, toFsError } from "../types/index.ts";
import { argArray, argOptional, argString, errorResponse, okResponse, type WireRequest, type WireResponse } from "../wire/index.ts";
import type { MetadataService } from "../service/index.ts";
import { TOKEN_ROLES, type TokenRole, type Tokens } from "../service/tokens.ts";
import { inScope, type Grant } from "./auth.ts";
import { LIMITS } from "../types/index.ts";

// Ops metad answers itself, outside group commit: token management (admin only, checked before
// these run) and the mount list, which shows a scoped token only the mounts it may use.

export const LOCAL_OPS = new Set(["token_create", "token_list", "token_revoke", "mounts_list"]);

export function runLocalOp(service: MetadataService, tokens: Tokens, grant: Grant, request: WireRequest): WireResponse {
  try {
    return okResponse(run(service, tokens, grant, request));
  } catch (err) {
    return errorResponse(toFsError(err));
  }
}

function run(service: MetadataService, tokens: Tokens, grant: Grant, { op, args }: WireRequest): unknown {
  switch (op) {
    case "token_create": {
      const role = argString(args, "role", { maxBytes: 16 });
      if (!(TOKEN_ROLES as readonly string[]).includes(role)) throw new FsError("EINVAL", `args.role '${role}' is not one of ${TOKEN_ROLES.join(", ")}`);
      const mounts = args.mounts === "*" ? "*" : (argOptional(args, "mounts", argArray, { maxLength: LIMITS.tokenMountsMax }) as string[] | undefined);
      const name = argOptional(args, "name", argString, { maxBytes: LIMITS.tokenNameMaxBytes, allowEmpty: true });
      return tokens.create({ role: role as TokenRole, ...(mounts === undefined ? {} : { mounts }), ...(name === undefined ? {} : { name }) });
    }
    case "token_list":
      return tokens.list();
    case "token_revoke":
      return tokens.revoke(argString(args, "id", { maxBytes: 64 }));
    case "mounts_list":
      return service.mounts.list().filter((m) => inScope(grant, m.name));
  }
  throw new FsError("ENOSYS", `unknown op '${op}'`);
}
