# lit configuration for Kiln's IR tests. Run through `bazel test //tests/lit`
# (which passes the tool directory) or by hand:
#   lit.py tests/lit --param kiln_bin=bazel-bin/tools
import os

import lit.formats

config.name = "Kiln"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Output", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.environ.get(
    "TEST_TMPDIR", os.path.join(config.test_source_root, "Output"))

kiln_bin = lit_config.params.get("kiln_bin")
if not kiln_bin:
    lit_config.fatal("pass --param kiln_bin=<directory holding graph-opt>")
llvm_bin = "/usr/lib/llvm-19/bin"
config.environment["PATH"] = os.pathsep.join(
    [os.path.abspath(kiln_bin), llvm_bin, config.environment.get("PATH", "")])

# ptxas (the CUDA toolkit's PTX assembler) validates the cuda target's PTX
# where it is installed; graph-compile runs it too (codegen/cuda).
import shutil
if shutil.which("ptxas") or os.access("/usr/local/cuda/bin/ptxas", os.X_OK):
    config.available_features.add("ptxas")
    config.environment["PATH"] += os.pathsep + "/usr/local/cuda/bin"
