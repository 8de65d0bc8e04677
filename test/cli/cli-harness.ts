import { join } from "node:path";

// Runs the CLI the way a user does: a separate `bun src/cli/main.ts ...` process, stdout and
// stderr piped (so not a TTY), exit status checked.

export const REPO_ROOT = join(import.meta.dir, "..", "..");
export const CLI_MAIN = join(REPO_ROOT, "src", "cli", "main.ts");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
}

/** The environment without NOKV_* variables a developer's shell may have set. */
function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("NOKV_")) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function spawnCli(args: readonly string[], options: CliRunOptions = {}) {
  return Bun.spawn([process.execPath, CLI_MAIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

export async function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  const proc = spawnCli(args, options);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Runs and expects exit 0, failing with the CLI's stderr otherwise. */
export async function ok(args: readonly string[], options: CliRunOptions = {}): Promise<string> {
  const r = await runCli(args, options);
  if (r.code !== 0) throw new Error(`nokv-fs ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
