import { describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { findLayerViolations } from "./check-layers.ts";

describe("layer order", () => {
  test("the source tree imports only down the layer list", () => {
    expect(findLayerViolations(resolve(import.meta.dir, "..", "src"))).toEqual([]);
  });

  test("a wrong-way import is reported", () => {
    const root = mkdtempSync(join(tmpdir(), "nokv-layers-"));
    try {
      mkdirSync(join(root, "schema"));
      mkdirSync(join(root, "service"));
      writeFileSync(join(root, "service", "ops.ts"), "export const x = 1;\n");
      writeFileSync(join(root, "schema", "store.ts"), 'import { x } from "../service/ops.ts";\n');
      expect(findLayerViolations(root)).toEqual([
        { file: join("schema", "store.ts"), specifier: "../service/ops.ts", fromLayer: "schema", toLayer: "service" },
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
