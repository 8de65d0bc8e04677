import { Command, CommanderError } from "commander";
import { registerCache } from "./commands/cache.ts";
import { registerCluster } from "./commands/cluster.ts";
import { registerCsi } from "./commands/csi.ts";
import { registerDaemons } from "./commands/daemons.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerListing } from "./commands/listing.ts";
import { registerMounts } from "./commands/mounts.ts";
import { registerNamespace } from "./commands/namespace.ts";
import { registerServer } from "./commands/server.ts";
import { registerSnapshot } from "./commands/snapshot.ts";
import { registerTokens } from "./commands/tokens.ts";
import { registerTransfer } from "./commands/transfer.ts";
import { registerWatch } from "./commands/watch.ts";
import { registerWorkspace } from "./commands/workspace.ts";
import { withGlobalOptions } from "./context.ts";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, describeFailure, describeFailureJson } from "./errors.ts";
import { CommandFailure, Runner } from "./runner.ts";

// `nokv-fs`: one command for the namespace, data transfer, snapshots, watches, server stats and
// GC, diagnostics, and the long-running pieces (metad, FUSE mount). Exit status: 0 ok,
// 1 the operation failed, 2 the command line was wrong.

const OVERVIEW = `
Environment:
  NOKV_SERVER   metad address (default nokv://127.0.0.1:7777), like --server
  NOKV_MOUNT    mount name (default "default"), like --mount
  NOKV_TOKEN    access token metad requires when tokens are on
  NOKV_CA       CA certificate (PEM file) for nokvs:// servers, like --ca
  NOKV_CACHE_DIR        node cache directory shared by every client here, like --cache-dir
  NOKV_CACHE_MAX_BYTES  node cache size limit (e.g. 50GiB), like --cache-max-bytes

Exit status: 0 ok, 1 the operation failed, 2 usage error. With --json a failure is one JSON
line on stderr: {"error":{"code":"ENOENT","message":...,"command":"ls","path":"/x","exit":1}}.

Examples:
  nokv-fs metad --data ./.nokv                 # run the metadata server
  nokv-fs put ./cifar /datasets/cifar          # upload a directory tree
  nokv-fs ls -l /datasets/cifar
  nokv-fs snapshot create /datasets            # prints the snapshot id
  nokv-fs mount /mnt/nokv                      # browse it with any tool
  nokv-fs doctor                               # check server, object store and FUSE`;

function buildProgram(run: Runner): Command {
  const program = withGlobalOptions(new Command("nokv-fs"))
    .description("NoKV filesystem: metadata in metad, file bytes in an object store")
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .configureHelp({ showGlobalOptions: false, sortSubcommands: false })
    .addHelpText("after", OVERVIEW);
  program.configureOutput({
    outputError: (message, write) => write(message.replace(/^error: /, "nokv-fs: ")),
  });
  registerListing(program, run);
  registerNamespace(program, run);
  registerTransfer(program, run);
  registerSnapshot(program, run);
  registerWorkspace(program, run);
  registerWatch(program, run);
  registerCache(program, run);
  registerMounts(program, run);
  registerServer(program, run);
  registerTokens(program, run);
  registerDoctor(program, run);
  registerDaemons(program, run);
  registerCluster(program, run);
  registerCsi(program, run);
  // Subcommands inherit exit and output handling only when they are set on each of them.
  const apply = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.exitOverride().showHelpAfterError("(add --help for usage)").configureOutput({
        outputError: (message, write) => write(message.replace(/^error: /, `nokv-fs ${sub.name()}: `)),
      });
      apply(sub);
    }
  };
  apply(program);
  return program;
}

/** Runs one command line (without the `nokv-fs` itself) and returns the exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const run = new Runner();
  const program = buildProgram(run);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
    return run.exitCode;
  } catch (err) {
    return reportError(err, wantsJson(argv));
  }
}

/** --json among the CLI's own arguments (not those passed through to metad, mount or fsck). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

function reportError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // Help and --version exit through here too, with status 0; commander already printed.
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  const command = err instanceof CommandFailure ? err.command : "";
  const cause = err instanceof CommandFailure ? err.cause : err;
  if (cause instanceof UsageError) {
    if (json) writeJsonError({ code: "EUSAGE", message: cause.message, command, exit: EXIT_USAGE });
    else process.stderr.write(`nokv-fs ${command}: ${cause.message}\n(see nokv-fs ${command} --help)\n`);
    return EXIT_USAGE;
  }
  if (json) writeJsonError({ ...describeFailureJson(command, cause), exit: EXIT_FAILED });
  else process.stderr.write(`${describeFailure(command, undefined, cause)}\n`);
  return EXIT_FAILED;
}

function writeJsonError(error: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ error })}\n`);
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2));
  // Let piped output drain before exiting: process.exit would cut off a large `cat` or listing.
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  process.exit(code);
}
