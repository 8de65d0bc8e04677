// The slice of bun:test the object store conformance suite uses, over node:test and node:assert,
// so the very same suite runs under Node. The Node test bundles the suite with "bun:test"
// resolved to this file.
import assert from "node:assert/strict";
import * as nodeTest from "node:test";

const TEST_TIMEOUT_MS = 60_000;
let registeredTests = 0;

/** Tests registered so far: the Node run checks that every one of them passed. */
export function registeredTestCount(): number {
  return registeredTests;
}

export function describe(name: string, body: () => void): void {
  nodeTest.describe(name, body);
}

export function test(name: string, body: () => unknown): void {
  registeredTests++;
  nodeTest.test(name, { timeout: TEST_TIMEOUT_MS }, async () => {
    await body();
  });
}

export function beforeEach(body: () => unknown): void {
  nodeTest.beforeEach(async () => {
    await body();
  });
}

export function afterEach(body: () => unknown): void {
  nodeTest.afterEach(async () => {
    await body();
  });
}

export function expect(actual: unknown) {
  return {
    toBe(expected: unknown): void {
      assert.ok(Object.is(actual, expected), `expected ${String(actual)} to be ${String(expected)}`);
    },
    toEqual(expected: unknown): void {
      assert.deepStrictEqual(actual, expected);
    },
    toBeNull(): void {
      assert.strictEqual(actual, null);
    },
  };
}
