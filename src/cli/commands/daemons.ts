import type { Command } from "commander";
import { CliFailure, UsageError } from "../errors.ts";
import type { Runner } from "../runner.ts";

// metad, mount, umount and fsck: long-running or offline tools with their own flag parsers. Their
// arguments pass through untouched, and each is loaded only when used: the namespace commands
// should not pay for loading the server, SQLite or the FUSE bindings. They need Bun (bun:sqlite,
// bun:ffi); the other commands also run on Node, where the npm launcher hands these to Bun.

/** The commands that only run on Bun; bin/nokv-fs.mjs keeps the same list. */
export const BUN_COMMANDS = ["metad", "mount", "umount", "fsck"] as const;

/**
 * Loads a Bun-only module. The specifier is a variable so that bundling the CLI for Node leaves
 * these modules (and bun:sqlite, bun:ffi) out; on Node it fails with what to do instead.
 */
async function loadBunModule<T>(command: string, specifier: string): Promise<T> {
  if (typeof Bun === "undefined") {
    throw new CliFailure(`needs Bun (bun:sqlite and bun:ffi): run it through the nokv-fs launcher with Bun installed (npm install bun, or https://bun.sh), or as \`bunx nokv-fs ${command}\``);
  }
  return (await import(specifier)) as T;
}

/** A subcommand whose arguments (including --help) go to its own parser unchanged. */
function passThrough(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument("[args...]");
}

const MOUNT_EXAMPLES = `
Serves until unmounted (nokv-fs umount DIR) or interrupted. --server / NOKV_SERVER and
--mount / NOKV_MOUNT work as for every command; --snapshot ID mounts a snapshot read-only.

Examples:
  nokv-fs mount /mnt/nokv
  nokv-fs mount /mnt/ckpt --snapshot 3
  nokv-fs mount /mnt/agents --mount agents --server nokv://meta.internal:7777
  nokv-fs umount /mnt/nokv`;

/** The global options given before the subcommand, and the environment, as mount flags. */
function mountArgv(program: Command, args: readonly string[], env: Record<string, string | undefined>): string[] {
  const globals = program.opts<{ server?: string; mount?: string; cacheDir?: string; cacheMaxBytes?: string }>();
  const out = [...args];
  const server = globals.server ?? env.NOKV_SERVER;
  const mount = globals.mount ?? env.NOKV_MOUNT;
  if (server && !out.includes("--server")) out.push("--server", server);
  if (mount && !out.includes("--mount")) out.push("--mount", mount);
  if (globals.cacheDir && !out.includes("--cache-dir")) out.push("--cache-dir", globals.cacheDir);
  if (globals.cacheMaxBytes && !out.includes("--cache-max-bytes")) out.push("--cache-max-bytes", globals.cacheMaxBytes);
  return out;
}

export function registerDaemons(program: Command, run: Runner): void {
  passThrough(program, "metad", "run the metadata server; needs Bun (flags: nokv-fs metad --help)").action(
    run.action<object, [string[]]>(async (_ctx, _opts, args) => {
      const { runMetad } = await loadBunModule<typeof import("../../server/main.ts")>("metad", "../../server/main.ts");
      return runMetad(args);
    }),
  );

  passThrough(program, "mount", "mount NoKV at a local directory through FUSE; needs Bun (nokv-fs mount --help)").action(
    run.action<object, [string[]]>(async (_ctx, _opts, args) => {
      const fuse = await loadBunModule<typeof import("../../fuse/mount-main.ts")>("mount", "../../fuse/mount-main.ts");
      if (args.includes("--help") || args.includes("-h")) {
        process.stdout.write(`${fuse.MOUNT_USAGE}\n${MOUNT_EXAMPLES}\n`);
        return 0;
      }
      const argv = mountArgv(program, args, process.env);
      // The mount connects through the SDK, which reads the token from the environment.
      const token = program.opts<{ token?: string }>().token;
      if (token) process.env.NOKV_TOKEN = token;
      try {
        fuse.parseMountArgs(argv);
      } catch (err) {
        throw new UsageError((err as Error).message.replace(/^EINVAL: invalid argument, /, ""));
      }
      return fuse.runMount(argv);
    }),
  );

  passThrough(program, "umount", "detach a NoKV FUSE mount (also one whose server died); needs Bun").action(
    run.action<object, [string[]]>(async (_ctx, _opts, args) => {
      if (args.includes("--help") || args.includes("-h")) {
        process.stdout.write("usage: nokv-fs umount MOUNTPOINT\n\nExamples:\n  nokv-fs umount /mnt/nokv\n");
        return 0;
      }
      if (args.length !== 1 || args[0]!.startsWith("-")) throw new UsageError("usage: nokv-fs umount MOUNTPOINT");
      const { runUmount } = await loadBunModule<typeof import("../../fuse/mount-main.ts")>("umount", "../../fuse/mount-main.ts");
      await runUmount(args[0]!);
    }),
  );

  passThrough(program, "fsck", "check (and --repair leaks in) a stopped metad's store; needs Bun (nokv-fs fsck --help)").action(
    run.action<object, [string[]]>(async (_ctx, _opts, args) => {
      const { runFsck } = await loadBunModule<typeof import("../fsck.ts")>("fsck", "../fsck.ts");
      return runFsck(args);
    }),
  );
}
