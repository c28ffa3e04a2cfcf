"""Kiln's own rules for generated sources: mlir-tblgen and protoc."""

def gentbl(name, td_file, td_srcs, tbl_outs):
    """Runs mlir-tblgen-19 on td_file once per (flags, output) in tbl_outs."""
    srcs = [td_file] + td_srcs + ["@llvm//:td_files"]
    for flags, out in tbl_outs:
        native.genrule(
            name = "%s_%s_genrule" % (name, out.replace("/", "_").replace(".", "_")),
            srcs = srcs,
            outs = [out],
            cmd = ("/usr/lib/llvm-19/bin/mlir-tblgen %s -I /usr/lib/llvm-19/include " +
                   "-I $$(dirname $(location %s)) -I . $(location %s) -o $@") % (flags, td_file, td_file),
        )
    native.filegroup(name = name, srcs = [out for _, out in tbl_outs])

def cc_proto(name, src, deps = []):
    """Compiles one .proto with the system protoc into a cc_library."""
    base = src[:-len(".proto")]
    native.genrule(
        name = name + "_genproto",
        srcs = [src],
        outs = [base + ".pb.h", base + ".pb.cc"],
        cmd = "/usr/bin/protoc --cpp_out=$(GENDIR) $(location %s)" % src,
    )
    native.cc_library(
        name = name,
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        deps = deps + ["//third_party:protobuf"],
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
        deps = ["@llvm//:mlir"],
    )
