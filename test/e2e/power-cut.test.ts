import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { fsckDataDir } from "../../src/cli/fsck.ts";
import { connect } from "../../src/sdk/index.ts";

// A power cut, simulated honestly: metad (--durability full) and its data live on an ext4
// filesystem in a loop-mounted image file; writers publish files through the SDK and print each
// one metad acknowledged. Then metad and the writers are SIGKILLed and the image file is copied
// at once: the copy holds what reached the (virtual) disk, not what sat in the mounted
// filesystem's page cache, which is what a power cut leaves. The copy is mounted (ext4 replays its
// journal), metad starts on it, and every acknowledged file must read back whole and verified.

const CUTS = 5;
const WRITERS = 3;
const IMAGE_BYTES = 192 * 1024 * 1024;
const WRITE_BEFORE_CUT_MS = 1_000;
const MIN_ACKS_PER_WRITER = 3;
const STARTUP_DEADLINE_MS = 30_000;
const BLOCK_BYTES = 64 * 1024;
const REPO = resolve(import.meta.dir, "..", "..");
const SDK = join(REPO, "src", "sdk", "index.ts");
const METAD_MAIN = join(REPO, "src", "server", "main.ts");

function skipReason(): string | null {
  if (process.platform !== "linux") return "power-cut test needs Linux loop devices";
  if (process.getuid?.() !== 0) return "power-cut test needs root (mount -o loop)";
  if (!existsSync("/dev/loop-control")) return "power-cut test needs loop devices (/dev/loop-control)";
  if (Bun.spawnSync(["which", "mkfs.ext4"]).exitCode !== 0) return "power-cut test needs mkfs.ext4 (e2fsprogs)";
  return null;
}

const skip = skipReason();
if (skip) console.log(`skipping power-cut test: ${skip}`);

function sh(...argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
}

/** The bytes a writer publishes as file `n`: derived from the name, so the checker can rebuild them. */
const contentScript = `
function contentOf(writer, n) {
  const size = 1 + ((writer * 7919 + n * 104729) % (5 * ${BLOCK_BYTES}));
  const out = new Uint8Array(size);
  let x = (writer * 1000003 + n * 8191 + 1) >>> 0;
  for (let i = 0; i < size; i++) { x = (x * 1664525 + 1013904223) >>> 0; out[i] = x >>> 24; }
  return out;
}`;
const contentOf = new Function(`${contentScript}; return contentOf;`)() as (writer: number, n: number) => Uint8Array;

function writerScript(url: string, writer: number): string {
  return `
    import { connect } from ${JSON.stringify(SDK)};
    ${contentScript}
    const c = await connect(${JSON.stringify(url)});
    await c.mkdir("/w${writer}", { recursive: true });
    for (let n = 0; ; n++) {
      await c.writeFile("/w${writer}/f" + n, contentOf(${writer}, n), { blockSizeBytes: ${BLOCK_BYTES} });
      console.log("ack " + n);
    }`;
}

async function startMetadProcess(root: string): Promise<{ proc: Subprocess<"ignore", "pipe", "pipe">; url: string }> {
  const proc = Bun.spawn([process.execPath, METAD_MAIN, "--listen", "127.0.0.1:0", "--data", join(root, "data"), "--objects", `file://${join(root, "objects")}`, "--durability", "full", "--gc-interval-ms", "0"], {
    stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!/ready on ([\d.]+:\d+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`metad exited: ${text} ${await new Response(proc.stderr).text()}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { proc, url: `nokv://${/ready on ([\d.]+:\d+)/.exec(text)![1]}` };
}

/** Collects "ack N" lines of one writer; reading continues after the kill (those acks came before it). */
function collectAcks(proc: Subprocess<"ignore", "pipe", "pipe">): { acked: number[]; done: Promise<void> } {
  const acked: number[] = [];
  const done = (async () => {
    let rest = "";
    for await (const chunk of proc.stdout) {
      rest += new TextDecoder().decode(chunk);
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const line of lines) if (line.startsWith("ack ")) acked.push(Number(line.slice(4)));
    }
  })();
  return { acked, done };
}

async function cutOnce(work: string, round: number): Promise<{ acked: number; verified: number }> {
  const image = join(work, `disk-${round}.img`);
  const copy = join(work, `cut-${round}.img`);
  const live = join(work, `live-${round}`);
  const after = join(work, `after-${round}`);
  mkdirSync(live);
  mkdirSync(after);
  sh("truncate", "-s", String(IMAGE_BYTES), image);
  sh("mkfs.ext4", "-q", "-F", image);
  sh("mount", "-o", "loop", image, live);
  let mountedAfter = false;
  try {
    const metad = await startMetadProcess(live);
    const writers = Array.from({ length: WRITERS }, (_, w) => Bun.spawn([process.execPath, "-e", writerScript(metad.url, w)], { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
    const acks = writers.map(collectAcks);
    // Cut mid-stream: once every writer has files acknowledged (a loaded machine starts them
    // slowly), after a while longer, different each round.
    const deadline = Date.now() + STARTUP_DEADLINE_MS;
    while (acks.some((a) => a.acked.length < MIN_ACKS_PER_WRITER) && Date.now() < deadline) await Bun.sleep(20);
    await Bun.sleep(WRITE_BEFORE_CUT_MS * (0.5 + Math.random()));
    // The cut: every process dies at once and the disk is frozen as it is.
    for (const p of [metad.proc, ...writers]) p.kill("SIGKILL");
    sh("cp", "--sparse=always", image, copy);
    await Promise.all([metad.proc.exited, ...writers.map((p) => p.exited)]);
    await Promise.all(acks.map((a) => a.done));
    const ackedTotal = acks.reduce((n, a) => n + a.acked.length, 0);
    expect(ackedTotal).toBeGreaterThan(0);

    sh("mount", "-o", "loop", copy, after);
    mountedAfter = true;
    const restarted = await startMetadProcess(after);
    let verified = 0;
    try {
      const c = await connect(restarted.url);
      for (const [w, a] of acks.entries()) {
        for (const n of a.acked) {
          const bytes = await c.readFile(`/w${w}/f${n}`);
          expect(Buffer.compare(bytes, Buffer.from(contentOf(w, n)))).toBe(0);
          verified++;
        }
      }
      await c.close();
    } finally {
      restarted.proc.kill("SIGTERM");
      await restarted.proc.exited;
    }
    const report = await fsckDataDir({ dataDir: join(after, "data"), verifyData: true });
    expect(report.violations.filter((v) => v.kind.startsWith("block-"))).toEqual([]);
    return { acked: ackedTotal, verified };
  } finally {
    if (mountedAfter) unmount(after);
    unmount(live);
    rmSync(image, { force: true });
    rmSync(copy, { force: true });
  }
}

/** Unmounts, lazily if something still holds the mount, so a failed round never leaks one. */
function unmount(dir: string): void {
  if (Bun.spawnSync(["umount", dir]).exitCode !== 0) Bun.spawnSync(["umount", "-l", dir]);
}

test.skipIf(skip !== null)(`every file acknowledged under --durability full survives ${CUTS} power cuts, intact and verified`, async () => {
  const work = mkdtempSync(join(tmpdir(), "nokv-powercut-"));
  try {
    const rounds: Array<{ acked: number; verified: number }> = [];
    for (let round = 0; round < CUTS; round++) rounds.push(await cutOnce(work, round));
    for (const r of rounds) expect(r.verified).toBe(r.acked);
    console.log(`power cut: ${rounds.map((r) => `${r.verified}/${r.acked}`).join(", ")} acknowledged files intact after ${CUTS} cuts`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}, 180_000);
