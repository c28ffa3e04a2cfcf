"""kiln_library: a model compiled at build time into a C++ class.

Like TensorFlow's tf_library: graph-compile runs during the build
(`--emit=obj,header`) and the result is a cc_library with the header
`<name>.h`, declaring `class_name`, and the object holding the kernels and
the weights. A program that depends on it links only Kiln's runtime.

    load("//tools:kiln_library.bzl", "kiln_library")
    # From another workspace, with Kiln as @kiln (tools/workspace.bzl):
    # load("@kiln//tools:kiln_library.bzl", "kiln_library")

    kiln_library(
        name = "classifier",
        model = "classifier.pbtxt",
        class_name = "my_app::Classifier",
    )

    cc_binary(
        name = "app",
        srcs = ["app.cc"],  # #include "path/to/classifier.h"
        deps = [":classifier"],
    )
"""

def kiln_library(
        name,
        model,
        class_name,
        fetches = [],
        flags = [],
        data = [],
        **kwargs):
    """Compiles `model` into a cc_library `name` with header `name`.h.

    The code is for the machine that builds, with every feature its CPU
    has, unless `flags` name another (--target-cpu=x86-64-v3 runs on any
    x86-64 CPU with AVX2, --target-triple=aarch64-linux-gnu cross-compiles);
    on a CPU without a feature the code uses, the class's ok() is false.

    Args:
      name: the cc_library; also the stem of the generated .h and .o.
      model: the model file (.onnx, .pbtxt or .pb).
      class_name: the generated C++ class, identifiers joined by "::".
      fetches: what to fetch (default: the model's outputs or signature).
      flags: more graph-compile flags (-O3, --target-cpu=..., and
        --freeze=NAME=$(location file.npy) with the file in `data`).
      data: files the flags name (external ONNX data, --freeze inputs).
      **kwargs: passed to the cc_library (visibility, testonly, ...).
    """
    graph_compile = Label("//tools:graph-compile")
    native.genrule(
        name = name + "_compile",
        srcs = [model] + data,
        outs = [name + ".o", name + ".h"],
        cmd = " ".join([
            "$(location %s)" % graph_compile,
            "$(location %s)" % model,
            "--emit=obj,header",
            "--class=" + class_name,
            "-o $(@D)/" + name,
        ] + ["--fetch=" + f for f in fetches] + flags),
        tools = [graph_compile],
        testonly = kwargs.get("testonly", False),
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = [name + ".o"],
        hdrs = [name + ".h"],
        deps = [Label("//runtime:static_model")],
        **kwargs
    )
