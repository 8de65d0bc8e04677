// Fails when a module under src/ imports against the layer order of DESIGN.md section 2.
// Run by `npm run check:layers` and by the test suite (scripts/check-layers.test.ts).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname, sep } from "node:path";

/** Which layers each layer may import (itself always allowed). */
export const ALLOWED_IMPORTS: Record<string, readonly string[]> = {
  types: [],
  schema: ["types"],
  service: ["schema", "types"],
  wire: ["types"],
  cluster: ["service", "schema", "objstore", "types"],
  server: ["cluster", "service", "schema", "wire", "objstore", "types"],
  objstore: ["types"],
  sdk: ["wire", "objstore", "types"],
  fuse: ["sdk", "wire", "objstore", "types"],
  csi: ["sdk", "wire", "objstore", "types"],
  cli: ["sdk", "server", "cluster", "fuse", "csi", "wire", "objstore", "types", "service", "schema"],
};

export interface LayerViolation {
  file: string;
  specifier: string;
  fromLayer: string;
  toLayer: string;
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listSources(full));
    else if (/\.(ts|tsx|js|mjs)$/.test(entry)) out.push(full);
  }
  return out;
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function layerOf(srcRoot: string, file: string): string | null {
  const rel = relative(srcRoot, file);
  if (rel.startsWith("..")) return null;
  const top = rel.split(sep)[0] ?? "";
  return top in ALLOWED_IMPORTS ? top : null;
}

export function findLayerViolations(srcRoot: string): LayerViolation[] {
  const violations: LayerViolation[] = [];
  for (const file of listSources(srcRoot)) {
    const fromLayer = layerOf(srcRoot, file);
    if (!fromLayer) continue;
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(IMPORT_RE)) {
      const specifier = match[1] ?? match[2] ?? "";
      if (!specifier.startsWith(".")) continue;
      const toLayer = layerOf(srcRoot, resolve(dirname(file), specifier));
      if (!toLayer || toLayer === fromLayer) continue;
      if (!ALLOWED_IMPORTS[fromLayer]!.includes(toLayer)) {
        violations.push({ file: relative(srcRoot, file), specifier, fromLayer, toLayer });
      }
    }
  }
  return violations;
}

if (import.meta.main) {
  const srcRoot = resolve(import.meta.dir, "..", "src");
  const violations = findLayerViolations(srcRoot);
  for (const v of violations) {
    console.error(`layer violation: src/${v.file} (${v.fromLayer}) imports ${v.specifier} (${v.toLayer})`);
  }
  if (violations.length > 0) process.exit(1);
  console.log("layers: ok");
}
