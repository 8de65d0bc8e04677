import { Option, type Command } from "commander";
import { resolve } from "node:path";
import { remotePath, withGlobalOptions, type CliContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { humanBytes } from "../format.ts";
import type { Runner } from "../runner.ts";
import { getPlan, localFileDestination, planGet } from "../transfer/get.ts";
import { summaryLine, type TransferSummary } from "../transfer/plan.ts";
import { startProgress } from "../transfer/progress.ts";
import { fileDestination, planPut, putPlan } from "../transfer/put.ts";

// put and get: files and directory trees between the local disk and NoKV, several files at once,
// with a progress bar on a terminal.

/** Files in flight at once; each file's blocks also upload in parallel inside the SDK. */
export const TRANSFER_CONCURRENCY_DEFAULT = 8;
export const TRANSFER_CONCURRENCY_MAX = 64;

interface TransferOptions {
  concurrency: string;
  progress?: boolean;
  snapshot?: string;
}

function transferOptions(cmd: Command): Command {
  return cmd
    .option("-j, --concurrency <n>", `files transferred at once (1..${TRANSFER_CONCURRENCY_MAX})`, String(TRANSFER_CONCURRENCY_DEFAULT))
    .option("--progress", "show the progress bar even when stderr is not a terminal")
    .option("--no-progress", "never show the progress bar");
}

function concurrencyOf(opts: TransferOptions): number {
  const n = Number(opts.concurrency);
  if (!Number.isSafeInteger(n) || n < 1 || n > TRANSFER_CONCURRENCY_MAX) {
    throw new UsageError(`--concurrency must be 1..${TRANSFER_CONCURRENCY_MAX}, got '${opts.concurrency}'`);
  }
  return n;
}

function report(ctx: CliContext, verb: string, summary: TransferSummary, from: string, to: string): void {
  if (ctx.json) ctx.printJson({ from, to, ...summary });
  else ctx.printLines([summaryLine(verb, summary, humanBytes)]);
}

function registerPut(program: Command, run: Runner): void {
  transferOptions(withGlobalOptions(program.command("put")))
    .description("upload a local file or directory tree (each file published atomically)")
    .argument("<local>", "local file or directory")
    .argument("<remote>", "remote destination; a directory's contents go into REMOTE (created if missing)")
    .addHelpText(
      "after",
      "\nA file put into an existing remote directory (or a REMOTE ending in /) keeps its name.\n" +
        "\nExamples:\n  nokv-fs put ./cifar /datasets/cifar\n  nokv-fs put model.safetensors /ckpt/step-900/\n  nokv-fs put -j 32 ./shards /datasets/shards --no-progress",
    )
    .action(
      run.action<TransferOptions, [string, string]>(async (ctx, opts, localArg, remoteArg) => {
        const concurrency = concurrencyOf(opts);
        const client = await ctx.connect();
        const local = resolve(localArg);
        const plan = await planPut(local);
        let remote = remotePath(remoteArg);
        if (plan.dirs.length === 0) remote = await fileDestination(client, local, remote, remoteArg);
        const progress = startProgress({ label: "put", totalBytes: plan.totalBytes, totalFiles: plan.files.length, forced: opts.progress, json: ctx.json });
        let summary: TransferSummary;
        try {
          summary = await putPlan(client, plan, local, remote, { concurrency, progress });
        } finally {
          // Before the summary: the bar's last redraw must not land after it.
          progress.stop();
        }
        report(ctx, "put", summary, local, remote);
      }),
    );
}

function registerGet(program: Command, run: Runner): void {
  transferOptions(withGlobalOptions(program.command("get")))
    .description("download a remote file or directory tree")
    .argument("<remote>", "remote file or directory")
    .argument("<local>", "local destination; a directory's contents go into LOCAL (created if missing)")
    .addOption(new Option("--snapshot <id>", "read snapshot ID instead of the live namespace (its paths start at the snapshotted directory)"))
    .addHelpText(
      "after",
      "\nA file fetched into an existing local directory (or a LOCAL ending in /) keeps its name.\n" +
        "\nExamples:\n  nokv-fs get /datasets/cifar ./cifar\n  nokv-fs get /ckpt/step-900/model.safetensors .\n  nokv-fs get /workspace ./restore --snapshot 3",
    )
    .action(
      run.action<TransferOptions, [string, string]>(async (ctx, opts, remoteArg, localArg) => {
        const concurrency = concurrencyOf(opts);
        const reader = await ctx.reader(opts.snapshot);
        const remote = remotePath(remoteArg);
        const plan = await planGet(reader, remote);
        const local = plan.dirs.length === 0 ? await localFileDestination(resolve(localArg) + (localArg.endsWith("/") ? "/" : ""), remote) : resolve(localArg);
        const progress = startProgress({ label: "get", totalBytes: plan.totalBytes, totalFiles: plan.files.length, forced: opts.progress, json: ctx.json });
        let summary: TransferSummary;
        try {
          summary = await getPlan(reader, plan, remote, local, { concurrency, progress });
        } finally {
          // Before the summary: the bar's last redraw must not land after it.
          progress.stop();
        }
        report(ctx, "got", summary, remote, local);
      }),
    );
}

export function registerTransfer(program: Command, run: Runner): void {
  registerPut(program, run);
  registerGet(program, run);
}
