import { strict as assert } from "assert";
import { Random } from "../lib/random";

describe("Random", () => {
  it("gives the same sequence for the same seed and a different one for another seed", () => {
    const a = new Random(42), b = new Random(42), c = new Random(43);
    const xa = Array.from({ length: 5 }, () => a.next());
    const xb = Array.from({ length: 5 }, () => b.next());
    const xc = Array.from({ length: 5 }, () => c.next());
    assert.deepEqual(xa, xb);
    assert.notDeepEqual(xa, xc);
  });

  it("draws normals with mean ~0 and variance ~1", () => {
    const r = new Random(1);
    const n = 20000;
    const xs = Array.from({ length: n }, () => r.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / n;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  });

  it("restores its state", () => {
    const r = new Random(7);
    r.next();
    const s = r.getState();
    const x = r.next();
    r.setState(s);
    assert.equal(r.next(), x);
  });
});
