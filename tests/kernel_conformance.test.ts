import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { kernelJupyterPath } from "./notebook_runner";

/** Jupyter's standard conformance suite (Debian's python3-jupyter-kernel-test) against our kernelspec. */
describe("kernel conformance (jupyter_kernel_test)", function () {
  this.timeout(600000);

  it("passes every jupyter_kernel_test check it has samples for", () => {
    const dir = path.resolve(__dirname, "..", "..", "tests", "conformance");
    const r = spawnSync("/usr/bin/python3", ["-m", "unittest", "-v", "test_llamalab_kernel"], {
      cwd: dir, encoding: "utf8", env: { ...process.env, JUPYTER_PATH: kernelJupyterPath() }, maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error || /No module named 'jupyter_kernel_test'/.test(r.stderr)) {
      throw new Error("jupyter_kernel_test is not installed: run `bash scripts/setup-jupyter.sh` (python3-jupyter-kernel-test).\n" + (r.error?.message ?? r.stderr));
    }
    assert.equal(r.status, 0, r.stderr.slice(-6000));
    const ran = Number(/Ran (\d+) tests?/.exec(r.stderr)?.[1]);
    const skipped = (r.stderr.match(/\.\.\. skipped/g) ?? []).length;
    // Only the pager and clear_output checks have no samples (the kernel has no pager or clear_output API).
    assert.ok(ran >= 12 && skipped <= 2, `ran ${ran}, skipped ${skipped}:\n${r.stderr}`);
  });
});
