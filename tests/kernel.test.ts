import { strict as assert } from "assert";
import { allOutputs, executeNotebook, joined, makeNotebook } from "./notebook_runner";

describe("kernel (through Jupyter's nbconvert)", function () {
  this.timeout(300000);

  it("preloads llama and tf with types, names the backend, and frees tensors of a re-run cell", () => {
    const rebuild = "const weights = tf.randomNormal([64, 64]);\n" +
      "const model = new llama.LlamaForCausalLM(new llama.LlamaConfig({ vocab_size: 50, hidden_size: 16, intermediate_size: 32, " +
      "num_hidden_layers: 1, num_attention_heads: 2 }), { seed: 1 });\nconsole.log('tensors', tf.memory().numTensors);";
    const nb = executeNotebook(makeNotebook([
      "const n: number = tf.tensor([1, 2, 3]).sum().arraySync() as number;\nconsole.log('sum', n);",
      rebuild,
      rebuild,
      "console.log('after', tf.memory().numTensors);",
      "console.log('backend', llama.backendName());",
      "const answer = 42;",
      "const wrapped = { answer };\nconsole.log('shorthand', wrapped.answer);",
    ]));
    const text = (i: number) => (nb.cells[i].outputs ?? []).map((o) => joined(o.text)).join("");
    assert.match(text(0), /backend: (wasm with \d+ threads?|cpu|tensorflow)\)/, "first cell announces the backend (and wasm's thread count)");
    assert.match(text(0), /sum 6/);
    const counts = [1, 2].map((i) => Number(/tensors (\d+)/.exec(text(i))![1]));
    const after = Number(/after (\d+)/.exec(text(3))![1]);
    assert.equal(after, counts[0], `re-running the cell left ${after} tensors, expected ${counts[0]}`);
    assert.match(text(4), /backend (wasm|cpu|tensorflow)/);
    assert.match(text(6), /shorthand 42/, "a shorthand property naming an earlier cell's variable works");
    assert.ok(allOutputs(nb).every((o) => o.output_type !== "error"));
  });

  it("reports a type error in a cell as an error output, and the kernel goes on", () => {
    const nb = executeNotebook(makeNotebook(["const s: string = 42;", "console.log('still alive')", "6 * 7"]), { allowErrors: true });
    const errors = (nb.cells[0].outputs ?? []).filter((o) => o.output_type === "error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0].ename, "TSError");
    assert.match(String((errors[0] as { evalue?: string }).evalue), /not assignable to type 'string'/);
    const result = (nb.cells[2].outputs ?? []).find((o) => o.output_type === "execute_result");
    assert.equal(joined(result?.data?.["text/plain"] as string | string[]), "42", "the last expression is an execute_result");
    const second = (nb.cells[1].outputs ?? []).map((o) => joined(o.text)).join("");
    // tslab alone aborts requests that arrive within 200 ms of an error; with --allow-errors every cell must run.
    assert.match(second, /still alive/);
  });
});
