// An agent's workspace with a safety net: snapshot it, let the agent work, then either keep the
// result (retire the snapshot) or roll back by copying the snapshot's read-only view back over
// the workspace. The snapshot is one metadata row; nothing is copied until a rollback needs it.
//
//   bun examples/agent-workspace.ts --server nokv://127.0.0.1:7777 [--workspace /workspace]
//     [--outcome rollback|keep]
//
// In your own project import from "nokv/sdk" instead of the source path.
import { parseArgs } from "node:util";
import { connect, type NoKVClient, type SnapshotView } from "../src/sdk/index.ts";

const { values: args } = parseArgs({
  options: {
    server: { type: "string", default: process.env.NOKV_SERVER ?? "nokv://127.0.0.1:7777" },
    mount: { type: "string", default: "default" },
    workspace: { type: "string", default: "/workspace" },
    outcome: { type: "string", default: "rollback" },
  },
});
if (args.outcome !== "rollback" && args.outcome !== "keep") throw new Error(`--outcome must be rollback or keep, got ${args.outcome}`);
const ws = args.workspace;

/** Every file under `dir` as "path: content", for before/after comparisons. */
async function listing(view: NoKVClient | SnapshotView, dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await view.readdir(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listing(view, path, `${prefix}${entry.name}/`)));
    else if (entry.isSymbolicLink()) out.push(`${prefix}${entry.name} -> ${await view.readlink(path)}`);
    else out.push(`${prefix}${entry.name}: ${(await view.readFile(path, "utf8")).trim()}`);
  }
  return out;
}

/** Makes `dir` in the live namespace a copy of `dir` in the snapshot view. */
async function restore(fs: NoKVClient, view: SnapshotView, viewDir: string, dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  for (const entry of await view.readdir(viewDir, { withFileTypes: true })) {
    const from = viewDir === "/" ? `/${entry.name}` : `${viewDir}/${entry.name}`;
    const to = `${dir}/${entry.name}`;
    if (entry.isDirectory()) await restore(fs, view, from, to);
    else if (entry.isSymbolicLink()) await fs.symlink(await view.readlink(from), to);
    // A stream: bytes go object store -> client -> object store, never through metad.
    else await fs.writeFile(to, view.createReadStream(from));
  }
}

const fs = await connect(args.server, { mount: args.mount });
try {
  if (!(await fs.exists(ws))) {
    await fs.mkdir(`${ws}/src`, { recursive: true });
    await fs.writeFile(`${ws}/README.md`, "# project\n");
    await fs.writeFile(`${ws}/src/main.ts`, "console.log('v1');\n");
  }
  console.log(`before:\n  ${(await listing(fs, ws)).join("\n  ")}`);
  const snapshot = await fs.snapshot(ws);
  console.log(`snapshot ${snapshot.id} of ${ws}`);

  // The agent's work: edit, delete, create.
  await fs.writeFile(`${ws}/src/main.ts`, "console.log('v2 (agent edit)');\n");
  await fs.rm(`${ws}/README.md`);
  await fs.writeFile(`${ws}/src/generated.ts`, "export const answer = 42;\n");
  console.log(`after agent:\n  ${(await listing(fs, ws)).join("\n  ")}`);

  if (args.outcome === "rollback") {
    // The snapshot view keeps the live paths: the workspace is at the same path in it.
    await restore(fs, snapshot, ws, ws);
    await snapshot.retire();
    console.log(`rolled back to snapshot ${snapshot.id}:\n  ${(await listing(fs, ws)).join("\n  ")}`);
  } else {
    await snapshot.retire();
    console.log(`kept the agent's changes; retired snapshot ${snapshot.id}`);
  }
} finally {
  await fs.close();
}
