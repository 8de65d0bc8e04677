import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { startMetad, type MetadHarness } from "../harness.ts";

// Each example runs as a user would run it (`bun examples/x.ts --server ...`) against a real metad;
// the checks look at what it printed and at what it left in the namespace.

const ROOT = join(import.meta.dir, "..", "..");
let h: MetadHarness;
beforeAll(async () => {
  h = await startMetad();
});
afterAll(() => h.stop());

async function runExample(name: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "examples", name), "--server", h.url, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${name} exited ${code}: ${stderr}`);
  return { stdout, stderr };
}

describe("examples", () => {
  test("training-loader reads every sample once per epoch, in a seeded random order", async () => {
    const { stdout } = await runExample("training-loader.ts", ["--dir", "/ds", "--generate", "50", "--sample-bytes", "1000", "--epochs", "2", "--seed", "7"]);
    const lines = stdout.trim().split("\n");
    expect(lines[0]).toBe("generated 50 samples of 1000 bytes in /ds");
    const epochs = lines.slice(1).map((l) => /^epoch (\d): read (\d+) samples \((\d+) bytes\).* first (\S+), fingerprint ([0-9a-f]{16})$/.exec(l)!);
    expect(epochs.map((m) => [m[1], m[2], m[3]])).toEqual([["1", "50", "50000"], ["2", "50", "50000"]]);
    // Same samples both epochs (same fingerprint), and it matches the bytes in the store.
    expect(epochs[0]![5]).toBe(epochs[1]![5]!);
    const c = await h.client();
    const fingerprint = Buffer.alloc(32);
    for (const name of await c.readdir("/ds")) {
      const digest = createHash("sha256").update(await c.readFile(`/ds/${name}`)).digest();
      for (let i = 0; i < 32; i++) fingerprint[i]! ^= digest[i]!;
    }
    expect(fingerprint.toString("hex").slice(0, 16)).toBe(epochs[0]![5]!);
    // A second run with the same seed reads in the same order; generation is skipped.
    const again = await runExample("training-loader.ts", ["--dir", "/ds", "--generate", "50", "--seed", "7"]);
    expect(again.stdout).not.toContain("generated");
    expect(again.stdout).toContain(`first ${epochs[0]![4]}`);
  });

  test("checkpoint-writer publishes the whole step directory at once and moves latest", async () => {
    const first = await runExample("checkpoint-writer.ts", ["--step", "1", "--size-mib", "5"]);
    const { stdout, stderr } = await runExample("checkpoint-writer.ts", ["--step", "2", "--size-mib", "9"]);
    expect(stderr).toContain("uploading model.bin: 100%");
    const sha = /sha256 ([0-9a-f]{64})/.exec(stdout)![1];
    expect(stdout).toContain("/checkpoints/latest -> step-2");
    const c = await h.client();
    expect(await c.readdir("/checkpoints")).toEqual(["latest", "step-1", "step-2"]);
    expect(await c.readlink("/checkpoints/latest")).toBe("step-2");
    const model = await c.readFile("/checkpoints/latest/model.bin");
    expect(model.byteLength).toBe(9 * 1024 * 1024);
    expect(createHash("sha256").update(model).digest("hex")).toBe(sha!);
    expect(JSON.parse(await c.readFile("/checkpoints/step-2/meta.json", "utf8"))).toMatchObject({ step: 2, sha256: sha });
    expect(first.stdout).toContain("published /checkpoints/step-1 (5242880 bytes)");
  });

  test("agent-workspace rolls back from the snapshot view, or keeps the work", async () => {
    const rolled = await runExample("agent-workspace.ts", ["--workspace", "/ws-a", "--outcome", "rollback"]);
    expect(rolled.stdout).toMatch(/rolled back to snapshot \d+:\n  README.md: # project\n  src\/main.ts: console.log\('v1'\);\n$/);
    const c = await h.client();
    expect(await c.readFile("/ws-a/src/main.ts", "utf8")).toBe("console.log('v1');\n");
    expect(await c.exists("/ws-a/src/generated.ts")).toBe(false);
    expect(await c.listSnapshots()).toEqual([]);
    const kept = await runExample("agent-workspace.ts", ["--workspace", "/ws-b", "--outcome", "keep"]);
    expect(kept.stdout).toMatch(/kept the agent's changes; retired snapshot \d+/);
    expect(await c.readFile("/ws-b/src/main.ts", "utf8")).toBe("console.log('v2 (agent edit)');\n");
    expect(await c.exists("/ws-b/README.md")).toBe(false);
    expect(await c.listSnapshots()).toEqual([]);
  });
});
