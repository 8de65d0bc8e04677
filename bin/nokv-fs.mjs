#!/usr/bin/env node
// The `nokv-fs` command for npm users (`npx nokv-fs ...`). The client commands (ls, put, get,
// watch, snapshot, stats, ...) run right here on Node from the built dist/cli/main.js. metad,
// mount, umount and fsck need Bun (bun:sqlite, bun:ffi): for those this launcher finds a Bun
// binary -- NOKV_BUN, the `bun` npm package if installed, then bun on PATH -- runs
// src/cli/main.ts with it and forwards arguments, stdio, signals and exit status.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const sourceMain = join(here, "..", "src", "cli", "main.ts");
const builtMain = join(here, "..", "dist", "cli", "main.js");
const require = createRequire(import.meta.url);

/** Same list as BUN_COMMANDS in src/cli/commands/daemons.ts. */
const BUN_COMMANDS = new Set(["metad", "mount", "umount", "fsck"]);
/** How often a launcher checks that whoever started it is still there (see runOnBun). */
const PARENT_POLL_MS = 200;
/** Global options that take a value (see src/cli/context.ts): their value is not the command. */
const VALUE_OPTIONS = new Set(["--server", "--mount", "--token"]);

/** The subcommand name: the first argument that is neither an option nor an option's value. */
export function commandOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return undefined;
}

/** Where a Bun binary may be, most specific first. */
function bunCandidates() {
  const out = [];
  if (process.env.NOKV_BUN) out.push(process.env.NOKV_BUN);
  const arch = process.arch === "arm64" ? "aarch64" : process.arch;
  const suffix = process.platform === "win32" ? "bun.exe" : "bun";
  // The platform packages the `bun` package depends on hold the real binary; bun/bin/bun.exe is
  // that binary only after bun's own postinstall ran (npm may skip install scripts).
  for (const variant of ["", "-baseline", "-musl", "-musl-baseline"]) {
    try {
      out.push(join(dirname(require.resolve(`@oven/bun-${process.platform}-${arch}${variant}/package.json`)), "bin", suffix));
    } catch {
      // that variant is not installed
    }
  }
  try {
    out.push(join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe"));
  } catch {
    // no bun package
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) if (dir) out.push(join(dir, suffix));
  return out.filter((p) => existsSync(p));
}

async function runOnNode(argv) {
  // A reader that went away (`nokv-fs ls | head`) ends the output, not the process with a trace.
  process.stdout.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  const { runCli } = await import(pathToFileURL(builtMain).href);
  const code = await runCli(argv);
  // Let piped output drain before exiting: process.exit would cut off a large `cat` or listing.
  await new Promise((resolve) => process.stdout.write("", () => resolve()));
  return code;
}

function runOnBun(argv, command) {
  const bun = bunCandidates()[0];
  if (!bun) {
    if (!BUN_COMMANDS.has(command)) {
      console.error(`nokv-fs: ${builtMain} is missing: run \`npm run build\` in a checkout (the published package ships it)`);
      process.exit(1);
    }
    console.error(
      `nokv-fs ${command}: needs Bun (the metadata server, the FUSE mount and fsck use bun:sqlite and bun:ffi); ` +
        "install it with `npm install bun` (or from https://bun.sh), or set NOKV_BUN to a bun binary. " +
        "The client commands (ls, put, get, watch, ...) run on Node without it.",
    );
    process.exit(1);
  }
  const child = spawn(bun, [sourceMain, ...argv], { stdio: "inherit" });
  // Every signal that stops this launcher is passed on, so stopping `npx nokv-fs metad` (SIGTERM
  // from a supervisor, SIGINT from a terminal or from npm) stops metad and not just its parent.
  // The child then shuts down cleanly and this process exits with its status.
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"]) process.on(signal, () => forward(signal));
  // npx runs this launcher under `sh -c`, and sh dies of the SIGTERM npm passes on without
  // passing it further: this process is then orphaned. A parent that is gone means stop.
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(parentWatch);
    forward("SIGTERM");
  }, PARENT_POLL_MS);
  parentWatch.unref();
  child.on("error", (err) => {
    console.error(`nokv-fs: cannot start Bun at ${bun}: ${err.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}

const argv = process.argv.slice(2);
if (process.versions.bun) {
  // Already on Bun (`bunx nokv-fs`): run the CLI from source in this process.
  const { runCli } = await import(pathToFileURL(sourceMain).href);
  process.exit(await runCli(argv));
} else {
  const command = commandOf(argv);
  // In a checkout without `npm run build`, the client commands run from source on Bun too.
  if ((command !== undefined && BUN_COMMANDS.has(command)) || !existsSync(builtMain)) runOnBun(argv, command ?? "");
  else process.exit(await runOnNode(argv));
}
