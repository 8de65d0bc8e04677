import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import type { Runner } from "../runner.ts";

// `nokv-fs csi`: the Kubernetes CSI driver (src/csi), a long-running server with its own flag
// parser. Loaded only when used: the other commands should not pay for gRPC. It runs on Bun or
// Node; its node service starts `nokv-fs mount` processes, which need Bun.

export function registerCsi(program: Command, run: Runner): void {
  program
    .command("csi")
    .description("run the Kubernetes CSI driver (nokv-fs csi --help)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument("[args...]")
    .action(
      run.action<object, [string[]]>(async (_ctx, _opts, args) => {
        const csi = await import("../../csi/main.ts");
        if (args.includes("--help") || args.includes("-h")) {
          process.stdout.write(`${csi.CSI_HELP}\n`);
          return 0;
        }
        // The global --server and --token (before `csi`) are the driver's defaults too.
        const globals = program.opts<{ server?: string; token?: string }>();
        if (globals.server && !args.includes("--server")) args = [...args, "--server", globals.server];
        if (globals.token) process.env.NOKV_TOKEN = globals.token;
        try {
          csi.parseCsiArgs(args);
        } catch (err) {
          if (err instanceof csi.CsiUsageError) throw new UsageError(`${err.message}; ${csi.CSI_USAGE}`);
          throw err;
        }
        return csi.runCsi(args);
      }),
    );
}
