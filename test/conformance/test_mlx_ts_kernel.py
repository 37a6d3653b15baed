"""jupyter_kernel_test conformance suite for the mlx-ts kernel (TypeScript cells).

Run by test/conformance/conformance.test.ts, which installs the kernelspec into a temporary prefix and
points JUPYTER_PATH at it. Every sample attribute is filled and the iopub_welcome class is run too, so no test of the suite is skipped.
"""
import unittest

# Import the module, not the class: a KernelTests name in this module's globals would make unittest
# run the base class too, against the python3 kernel.
import jupyter_kernel_test as jkt


class MlxTsKernelTests(jkt.KernelTests):
    kernel_name = "mlx-ts"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("to stderr")'

    completion_samples = [
        {"text": "Math.LOG", "matches": {"LOG10E", "LOG2E"}},
        {"text": "const zebraQuagga = 1; zebraQ"},
    ]

    complete_code_samples = ["1 + 1", "const x: number = 1;", "console.log('hi')", "function f() { return 1 }"]
    incomplete_code_samples = ["function f() {", "const a = [1, 2,", "if (true) {", "`unterminated ${"]
    invalid_code_samples = ["const a = )", "}"]

    code_page_something = "Math.max?"

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "1 + 1", "result": "2"},
        {"code": "[1, 2, 3].length", "result": "3"},
    ]
    code_history_pattern = "6 *"
    supported_history_operations = ("tail", "range", "search")

    code_display_data = [
        {"code": 'display.html("<b>bold</b>")', "mime": "text/html"},
        {"code": 'display.markdown("# title")', "mime": "text/markdown"},
    ]

    code_inspect_sample = "Math.max"

    code_clear_output = 'console.log("soon gone"); clearOutput()'


class MlxTsIopubWelcomeTests(jkt.IopubWelcomeTests):
    """The suite's JEP 65 check: the first iopub message a new client gets is iopub_welcome."""

    kernel_name = "mlx-ts"
    support_iopub_welcome = True


if __name__ == "__main__":
    unittest.main()
