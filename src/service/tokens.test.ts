import { afterEach, describe, expect, test } from "bun:test";
import { LIMITS } from "../types/index.ts";
import { openTestService, type ServiceHarness } from "./testing.ts";
import { Tokens } from "./tokens.ts";

let h: ServiceHarness;
afterEach(() => h?.cleanup());

describe("tokens", () => {
  test("create, verify, list, revoke; stored as a hash and reloaded from the store", () => {
    h = openTestService();
    const tokens = new Tokens(h.service.core, () => 1_000);
    const { token, info } = tokens.create({ role: "read-write", mounts: ["b", "a", "a"], name: "agent" });
    expect(info).toEqual({ id: info.id, name: "agent", role: "read-write", mounts: ["a", "b"], createdAtMs: 1_000 });
    expect(tokens.verify(token)).toEqual(info);
    expect(tokens.verify(token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"))).toBeNull();
    expect(tokens.verify(`nokv_ffffffffffff_${token.slice(-43)}`)).toBeNull();
    for (const junk of [undefined, 42, "", "nokv_x", token + "x"]) expect(tokens.verify(junk)).toBeNull();
    const row = h.service.store.getSystem(`token:${info.id}`)!;
    expect(row.text).not.toContain(token.slice(-43));
    const again = new Tokens(h.reopen().core);
    expect(again.verify(token)).toEqual(info);
    expect(again.list()).toEqual([info]);
    expect(again.revoke(info.id)).toEqual(info);
    expect(again.verify(token)).toBeNull();
    expect(new Tokens(h.reopen().core).count).toBe(0); // the delete is durable
  });

  test("admin tokens cover every mount; bad specs are EINVAL and unknown ids ENOENT", () => {
    h = openTestService();
    const tokens = new Tokens(h.service.core);
    expect(tokens.create({ role: "admin", mounts: ["x"] }).info.mounts).toBe("*");
    expect(tokens.create({ role: "read-only", mounts: "*" }).info.mounts).toBe("*");
    const bad = [
      { role: "read-only" },
      { role: "read-write", mounts: [] },
      { role: "root" },
      { role: "read-only", mounts: ["a/b"] },
      { role: "read-only", mounts: Array.from({ length: LIMITS.tokenMountsMax + 1 }, (_, i) => `m${i}`) },
      { role: "admin", name: "x".repeat(LIMITS.tokenNameMaxBytes + 1) },
    ];
    for (const spec of bad) expect(() => tokens.create(spec as never)).toThrow(expect.objectContaining({ code: "EINVAL" }));
    expect(() => tokens.revoke("nope")).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
