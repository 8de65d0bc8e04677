import type { Command } from "commander";
import type { TokenInfo } from "../../sdk/index.ts";
import { withGlobalOptions } from "../context.ts";
import { UsageError } from "../errors.ts";
import { columns } from "../format.ts";
import type { Runner } from "../runner.ts";

// token create|list|revoke: access tokens, each scoped to mounts and to read-only, read-write or
// admin. Managing them needs an admin token (NOKV_TOKEN); the secret is printed once, at create.

const ROLES = ["read-only", "read-write", "admin"] as const;

const EXAMPLES = `
Examples:
  nokv-fs token create --role read-write --mounts agent-7 --name agent-7
  nokv-fs token create --role read-only --mounts datasets
  nokv-fs token create --role admin --name ops
  nokv-fs token list
  nokv-fs token revoke 3f9a0c1b2d4e

The admin token (metad --token, or an admin token made here) goes in NOKV_TOKEN.`;

function parseMounts(text: string | undefined, role: string): string[] | "*" | undefined {
  if (text === undefined) {
    if (role !== "admin") throw new UsageError(`a ${role} token needs --mounts NAME[,NAME...] (or --mounts '*' for every mount)`);
    return undefined;
  }
  if (text.trim() === "*") return "*";
  const names = text.split(",").map((n) => n.trim()).filter((n) => n !== "");
  if (names.length === 0) throw new UsageError(`--mounts '${text}' names no mount`);
  return names;
}

function describe(t: TokenInfo): string[] {
  return [t.id, t.role, t.mounts === "*" ? "*" : t.mounts.join(","), new Date(t.createdAtMs).toISOString(), t.name];
}

export function registerTokens(program: Command, run: Runner): void {
  const tokens = program.command("token").description("create, list and revoke access tokens (admin)").addHelpText("after", EXAMPLES);
  withGlobalOptions(tokens.command("create"))
    .description("make a token; its secret is printed once")
    .requiredOption("--role <role>", `${ROLES.join(", ")}`)
    .option("--mounts <names>", "comma-separated mount names the token may use, or '*' (admin tokens: all)")
    .option("--name <label>", "a label to recognize it by in `token list`")
    .action(
      run.action<{ role: string; mounts?: string; name?: string }, []>(async (ctx, opts) => {
        if (!(ROLES as readonly string[]).includes(opts.role)) throw new UsageError(`--role '${opts.role}' is not one of ${ROLES.join(", ")}`);
        const mounts = parseMounts(opts.mounts, opts.role);
        const made = await (await ctx.connect()).createToken({
          role: opts.role as (typeof ROLES)[number],
          ...(mounts === undefined ? {} : { mounts }),
          ...(opts.name === undefined ? {} : { name: opts.name }),
        });
        if (ctx.json) return ctx.printJson(made);
        ctx.printLines([made.token]);
        process.stderr.write(`token ${made.info.id}: ${made.info.role} on ${made.info.mounts === "*" ? "every mount" : made.info.mounts.join(", ")}; the secret above is not shown again\n`);
      }),
    );
  withGlobalOptions(tokens.command("list"))
    .alias("ls")
    .description("list tokens (ids, roles, mounts; never secrets)")
    .action(
      run.action<object, []>(async (ctx) => {
        const list = await (await ctx.connect()).listTokens();
        if (ctx.json) return ctx.printJson(list);
        ctx.printLines(columns([["ID", "ROLE", "MOUNTS", "CREATED", "NAME"], ...list.map(describe)], new Set()));
      }),
    );
  withGlobalOptions(tokens.command("revoke"))
    .description("revoke a token: connections using it are closed and it is refused from then on")
    .argument("<id>", "token id (from token list)")
    .action(
      run.action<object, [string]>(async (ctx, _opts, id) => {
        const revoked = await (await ctx.connect()).revokeToken(id);
        if (ctx.json) return ctx.printJson(revoked);
        ctx.printLines([`revoked token ${revoked.id} (${revoked.role}${revoked.name ? `, ${revoked.name}` : ""})`]);
      }),
    );
}
