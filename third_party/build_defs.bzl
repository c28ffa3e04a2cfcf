"""Kiln's own rules: generated sources (mlir-tblgen, protoc) and shared
libraries for builds outside Bazel (kiln_shared_library).

They work both when Kiln is the main workspace and when it is an external
repository (@kiln, see tools/workspace.bzl): include and output paths start
at the repository's root (`ctx.label.workspace_root`, "" or "external/kiln"),
and labels of Kiln's own targets are `Label`s, so that they name Kiln's
repository rather than the one whose BUILD file calls the macro.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

_MLIR_TBLGEN = "/usr/lib/llvm-19/bin/mlir-tblgen"
_PROTOC = "/usr/bin/protoc"

def _repo_root(ctx):
    """The execroot-relative root of the rule's repository ("." for main)."""
    return ctx.label.workspace_root or "."

def _tblgen_impl(ctx):
    td = ctx.file.td_file
    args = ctx.actions.args()
    args.add_all(ctx.attr.flags)
    args.add("-I", "/usr/lib/llvm-19/include")
    args.add("-I", td.dirname)

    # `include "ir/Dialect.td"` is relative to the repository's root.
    args.add("-I", _repo_root(ctx))
    args.add(td.path)
    args.add("-o", ctx.outputs.out.path)
    ctx.actions.run(
        executable = _MLIR_TBLGEN,
        arguments = [args],
        inputs = [td] + ctx.files.td_srcs + ctx.files._mlir_td_files,
        outputs = [ctx.outputs.out],
        mnemonic = "MlirTblgen",
        progress_message = "mlir-tblgen %s" % ctx.outputs.out.short_path,
    )

_tblgen = rule(
    implementation = _tblgen_impl,
    attrs = {
        "td_file": attr.label(allow_single_file = [".td"], mandatory = True),
        "td_srcs": attr.label_list(allow_files = [".td"]),
        "flags": attr.string_list(),
        "out": attr.output(mandatory = True),
        "_mlir_td_files": attr.label(default = Label("@llvm//:td_files")),
    },
)

def gentbl(name, td_file, td_srcs, tbl_outs):
    """Runs mlir-tblgen-19 on td_file once per (flags, output) in tbl_outs."""
    for flags, out in tbl_outs:
        _tblgen(
            name = "%s_%s_tblgen" % (name, out.replace("/", "_").replace(".", "_")),
            td_file = td_file,
            td_srcs = td_srcs,
            flags = flags.split(" "),
            out = out,
        )
    native.filegroup(name = name, srcs = [out for _, out in tbl_outs])

def _protoc_impl(ctx):
    src = ctx.file.src
    root = _repo_root(ctx)

    # With the repository's root as the proto path the file is known as
    # graph/graph.proto wherever Kiln sits, and protoc writes the outputs
    # next to where Bazel expects them: <bin>/<root>/graph/graph.pb.h.
    out_dir = ctx.bin_dir.path
    if ctx.label.workspace_root:
        out_dir += "/" + ctx.label.workspace_root
    ctx.actions.run(
        executable = _PROTOC,
        arguments = [
            "--proto_path=" + root,
            "--cpp_out=" + out_dir,
            src.path,
        ],
        inputs = [src],
        outputs = [ctx.outputs.pb_h, ctx.outputs.pb_cc],
        mnemonic = "Protoc",
        progress_message = "protoc %s" % src.short_path,
    )

_protoc = rule(
    implementation = _protoc_impl,
    attrs = {
        "src": attr.label(allow_single_file = [".proto"], mandatory = True),
        "pb_h": attr.output(mandatory = True),
        "pb_cc": attr.output(mandatory = True),
    },
)

def cc_proto(name, src, deps = []):
    """Compiles one .proto with the system protoc into a cc_library."""
    base = src[:-len(".proto")]
    _protoc(
        name = name + "_genproto",
        src = src,
        pb_h = base + ".pb.h",
        pb_cc = base + ".pb.cc",
    )
    native.cc_library(
        name = name,
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        deps = deps + [Label("//third_party:protobuf")],
        copts = ["-Wno-unused-parameter"],
    )

def pass_declarations(name, prefix):
    """A folder's Passes.td -> Passes.h.inc, and the cc_library `name` with
    Passes.h (which includes it); `prefix` names the generated
    registerXPasses() function."""
    gentbl(
        name = name + "_inc",
        td_file = "Passes.td",
        td_srcs = [],
        tbl_outs = [
            ("-gen-pass-decls -name " + prefix, "Passes.h.inc"),
        ],
    )
    native.cc_library(
        name = name,
        hdrs = [
            "Passes.h",
            "Passes.h.inc",
        ],
        deps = [Label("@llvm//:mlir")],
    )

def _kiln_shared_library_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    linking_context = cc_common.merge_cc_infos(
        cc_infos = [dep[CcInfo] for dep in ctx.attr.deps],
    ).linking_context

    # Every object of Kiln's own libraries goes in whole: nothing in the
    # library refers to them, so linking their archives would drop them
    # (alwayslink ones are linked whole already). Libraries from elsewhere
    # (LLD's archives) link as usual, and system libraries through their
    # linkopts.
    objects = []
    for linker_input in linking_context.linker_inputs.to_list():
        if linker_input.owner.workspace_name != ctx.label.workspace_name:
            continue
        for library in linker_input.libraries:
            if not library.alwayslink:
                objects.extend(library.pic_objects or library.objects)
    soname = "lib%s.so" % ctx.label.name
    outputs = cc_common.link(
        actions = ctx.actions,
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        compilation_outputs = cc_common.create_compilation_outputs(
            pic_objects = depset(objects),
        ),
        linking_contexts = [linking_context],
        user_link_flags = ["-Wl,-soname," + soname],
        name = ctx.label.name,
        output_type = "dynamic_library",
    )
    library = outputs.library_to_link
    return [DefaultInfo(files = depset([
        library.resolved_symlink_dynamic_library or library.dynamic_library,
    ]))]

kiln_shared_library = rule(
    doc = """lib<name>.so holding every object of Kiln's libraries in the
    transitive closure of `deps`; other libraries (system, LLVM) stay
    dependencies of it. For builds outside Bazel: tools/install.sh.""",
    implementation = _kiln_shared_library_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "_cc_toolchain": attr.label(
            default = Label("@bazel_tools//tools/cpp:current_cc_toolchain"),
        ),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)
