"""Jupyter's standard kernel conformance suite (jupyter_kernel_test) against the Llama Lab kernelspec.

Run with the kernelspec on JUPYTER_PATH:  /usr/bin/python3 -m unittest tests/conformance/test_llamalab_kernel.py
"""
import unittest

import jupyter_kernel_test as jkt


class LlamaLabKernelTests(jkt.KernelTests):
    kernel_name = "llamalab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'

    # Completion of the preloaded library: members of `llama` and of `tf`.
    completion_samples = [
        {"text": "llama.LlamaConf", "matches": {"LlamaConfig"}},
        {"text": "tf.zerosL", "matches": {"zerosLike", "ZerosLike"}},
    ]
    complete_code_samples = ["1 + 1", "const a = 1;", "function f() {\n  return 1;\n}"]
    incomplete_code_samples = ["function f() {", "const xs = [1, 2,", "if (true) {\n  console.log(1);"]
    invalid_code_samples = ["const = 5;", "1 +* 2"]

    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'llama'", "result": "'llama'"},
        {"code": "tf.tensor([1, 2, 3]).shape", "mime": "text/plain"},
        {"code": "tf.zeros([2, 3])", "mime": "text/html"},
        {"code": "new llama.LlamaConfig({ vocab_size: 10, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2 })", "mime": "application/json"},
    ]
    code_display_data = [
        {"code": 'llama.display({"text/html": "<b>hi</b>", "text/plain": "hi"})', "mime": "text/html"},
        {"code": "llama.showTable([{ a: 1, b: 2 }])", "mime": "text/html"},
    ]
    code_history_pattern = "6 * 7"
    supported_history_operations = ("tail", "range", "search")
    code_inspect_sample = "llama.LlamaConfig"


if __name__ == "__main__":
    unittest.main()
