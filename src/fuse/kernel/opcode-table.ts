import { OPCODE } from "./abi.ts";
import { DIR_OPS } from "./ops-dir.ts";
import { FILE_OPS } from "./ops-file.ts";
import { MISC_OPS } from "./ops-misc.ts";
import { NODE_OPS } from "./ops-node.ts";
import type { OpSpec } from "./op-types.ts";

// The dispatch table: opcode number -> spec, built from the per-area lists and checked once when
// the module loads, so a typo or a duplicate fails at startup rather than on the first request.

function buildTable(specs: readonly OpSpec[]): ReadonlyMap<number, OpSpec> {
  const table = new Map<number, OpSpec>();
  for (const spec of specs) {
    const opcode = OPCODE[spec.name];
    if (opcode === undefined) throw new Error(`opcode table: unknown opcode name ${spec.name}`);
    if (table.has(opcode)) throw new Error(`opcode table: ${spec.name} listed twice`);
    if (!Number.isInteger(spec.inSizeBytes) || spec.inSizeBytes < 0 || spec.inSizeBytes % 8 !== 0) {
      throw new Error(`opcode table: ${spec.name} in-struct size ${spec.inSizeBytes} is not a multiple of 8`);
    }
    if (typeof spec.handler !== "function") throw new Error(`opcode table: ${spec.name} has no handler`);
    table.set(opcode, spec);
  }
  return table;
}

export const OPCODE_TABLE = buildTable([...NODE_OPS, ...FILE_OPS, ...DIR_OPS, ...MISC_OPS]);

/** The spec for `opcode`, or undefined (the session answers ENOSYS). */
export function opSpec(opcode: number): OpSpec | undefined {
  return OPCODE_TABLE.get(opcode);
}
