import { strict as assert } from "assert";
import { expandShorthandProperties } from "../kernel/cell_rewrite";

describe("kernel/cell_rewrite", () => {
  it("spells out shorthand properties and leaves everything else alone", () => {
    assert.equal(expandShorthandProperties("f({ a, b: 1, c })"), "f({ a: a, b: 1, c: c })");
    assert.equal(expandShorthandProperties("const { a, b } = obj;"), "const { a, b } = obj;");
    assert.equal(expandShorthandProperties("({ a = 1 } = obj);"), "({ a = 1 } = obj);");
    assert.equal(expandShorthandProperties("const s = '{ a }'; // { b }"), "const s = '{ a }'; // { b }");
    assert.equal(expandShorthandProperties("g({ x: { y } })"), "g({ x: { y: y } })");
  });
});
