import { describe, expect, test } from "bun:test";
import { AuthThrottle, denial, type Grant, type OpTable } from "./auth.ts";

const ops: OpTable = {
  isOp: (op) => ["hello", "getattr", "mkdir", "mounts_list", "watch_unsubscribe", "stats", "gc", "mount_create"].includes(op),
  isWrite: (op) => op === "mkdir" || op === "mount_create",
  mountName: (id) => ({ 1: "default", 2: "agent", 3: "datasets" })[id],
};
const rw: Grant = { tokenId: "a", role: "read-write", mounts: ["agent"] };
const ro: Grant = { tokenId: "b", role: "read-only", mounts: ["datasets"] };
const admin: Grant = { tokenId: null, role: "admin", mounts: "*" };

describe("denial", () => {
  test("mount scope, read-only, admin ops, batches", () => {
    expect(denial(rw, "mkdir", { mount: 2 }, ops)).toBeNull();
    expect(denial(rw, "getattr", { mount: 1 }, ops)).toContain("not scoped to mount 'default'");
    expect(denial(rw, "getattr", {}, ops)).toContain("needs a mount id");
    expect(denial(rw, "getattr", { mount: 99 }, ops)).toBeNull(); // no such mount: the op says ENOENT
    expect(denial(ro, "getattr", { mount: 3 }, ops)).toBeNull();
    expect(denial(ro, "mkdir", { mount: 3 }, ops)).toContain("read-only");
    for (const op of ["stats", "gc", "mount_create", "token_create", "token_list", "token_revoke"]) expect(denial(rw, op, {}, ops)).toContain("admin");
    expect(denial(rw, "hello", {}, ops)).toBeNull();
    expect(denial(rw, "hello", { mount: "datasets" }, ops)).toContain("datasets");
    expect(denial(rw, "mounts_list", {}, ops)).toBeNull();
    expect(denial(rw, "no_such_op", {}, ops)).toBeNull(); // ENOSYS from dispatch
    expect(denial(ro, "batch", { ops: [{ op: "getattr", args: { mount: 3 } }, { op: "mkdir", args: { mount: 3 } }] }, ops)).toContain("read-only");
    expect(denial(ro, "batch", { ops: [{ op: "getattr", args: { mount: 3 } }] }, ops)).toBeNull();
    expect(denial(rw, "batch", { ops: [{ op: "batch", args: { ops: [] } }] }, ops)).toContain("batch inside a batch");
    expect(denial(admin, "stats", {}, ops)).toBeNull();
  });
});

describe("AuthThrottle", () => {
  test("the delay doubles with an address's recent failures, up to the max; other addresses start over", () => {
    const t = new AuthThrottle({ authFailureDelayMs: 100, authFailureDelayMaxMs: 700 });
    expect([1, 2, 3, 4, 5].map(() => t.failed("10.0.0.1", 0))).toEqual([100, 200, 400, 700, 700]);
    expect(t.failed("10.0.0.2", 0)).toBe(100);
    expect(t.failed("10.0.0.1", 10 * 60_000)).toBe(100); // outside the window: forgotten
  });
});
