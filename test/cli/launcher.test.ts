import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";
import { REPO_ROOT } from "./cli-harness.ts";

// bin/nokv-fs.mjs is what `npx nokv-fs` runs: under plain Node it must find Bun from
// node_modules and pass arguments, output and exit status through.

let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad();
});
afterAll(() => h.stop());

async function viaNode(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const node = Bun.which("node");
  if (!node) throw new Error("node is not on PATH: the launcher test needs it");
  const proc = Bun.spawn([node, join(REPO_ROOT, "bin", "nokv-fs.mjs"), ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NOKV_SERVER: h.url } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

test("the npm bin launcher runs the CLI under Node, exit status and output intact", async () => {
  const c = await h.client();
  await c.mkdir("/launched");
  expect(await viaNode(["ls", "/"])).toEqual({ code: 0, stdout: "launched\n", stderr: "" });
  const missing = await viaNode(["ls", "/nope"]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toStartWith("nokv-fs: ls /nope: ENOENT");
  expect((await viaNode(["ls", "--bogus"])).code).toBe(2);
});
