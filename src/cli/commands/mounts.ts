import type { Command } from "commander";
import { withGlobalOptions } from "../context.ts";
import { columns } from "../format.ts";
import type { Runner } from "../runner.ts";

// mounts create|list: named namespaces served by one metad (each with its own root, snapshots
// and watch log). The command connects through the default mount: the new one need not exist.

export function registerMounts(program: Command, run: Runner): void {
  const mounts = program
    .command("mounts")
    .description("create and list named mounts (separate namespaces in one metad)")
    .addHelpText("after", "\nExamples:\n  nokv-fs mounts create agents\n  nokv-fs ls / --mount agents\n  nokv-fs mounts list --json");
  withGlobalOptions(mounts.command("create"))
    .description("create a mount with an empty root directory")
    .argument("<name>", "mount name")
    .action(
      run.action<object, [string]>(async (ctx, _opts, name) => {
        const created = await (await ctx.connect()).createMount(name);
        if (ctx.json) ctx.printJson(created);
        else ctx.printLines([`created mount '${created.name}' (id ${created.id})`]);
      }),
    );
  withGlobalOptions(mounts.command("list"))
    .alias("ls")
    .description("list mounts")
    .action(
      run.action<object, []>(async (ctx) => {
        const list = await (await ctx.connect()).listMounts();
        if (ctx.json) return ctx.printJson(list);
        ctx.printLines(columns([["ID", "NAME"], ...list.map((m) => [String(m.id), m.name])], new Set([0])));
      }),
    );
}
