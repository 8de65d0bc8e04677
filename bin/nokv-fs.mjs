#!/usr/bin/env node
// The `nokv-fs` command for npm users (`npx nokv-fs ...`): the CLI is TypeScript that runs on Bun,
// so this launcher finds a Bun binary -- the `bun` npm package's platform build first, then bun on
// PATH -- and runs src/cli/main.ts with it, passing arguments, stdio, signals and exit status.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const main = join(here, "..", "src", "cli", "main.ts");
const require = createRequire(import.meta.url);

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
  return out.filter((p) => existsSync(p));
}

if (process.versions.bun) {
  // Already on Bun (`bunx nokv-fs`): run the CLI in this process.
  const { runCli } = await import(main);
  process.exit(await runCli(process.argv.slice(2)));
}

const bun = bunCandidates()[0] ?? "bun";
const child = spawn(bun, [main, ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C reaches the child directly (same process group); forwarding it too would interrupt the
// child's own clean shutdown (a watch printing its resume cursor, a mount unmounting).
process.on("SIGINT", () => {});
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
child.on("error", (err) => {
  const hint = err.code === "ENOENT" ? " (install the `bun` npm package or put bun on PATH, or set NOKV_BUN)" : "";
  console.error(`nokv-fs: cannot start Bun at ${bun}: ${err.message}${hint}`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
