"""The external repositories Kiln builds with, declared in one place.

Kiln's own WORKSPACE calls kiln_dependencies(), and so does the WORKSPACE of
a project that uses Kiln as an external repository:

    local_repository(
        name = "kiln",
        path = "/path/to/kiln",
    )

    load("@kiln//tools:workspace.bzl", "kiln_dependencies")

    kiln_dependencies()

Everything is a local directory (Debian's packages, or a folder of Kiln's
own third_party/), so the build stays offline. A repository the calling
WORKSPACE declared before the call is left as it is.
"""

def _kiln_directory_impl(rctx):
    # Kiln's root, wherever Kiln sits: the main workspace, a
    # local_repository or an unpacked http_archive.
    src = rctx.path(Label("//:WORKSPACE")).dirname
    for part in rctx.attr.path.split("/"):
        src = src.get_child(part)
    if not src.exists:
        fail("kiln: %s does not exist" % src)
    for entry in src.readdir():
        rctx.symlink(entry, entry.basename)

# A directory inside Kiln (a nested repository with its own WORKSPACE) as a
# repository of its own. local_repository would take a path relative to the
# *main* workspace, which is not Kiln's root when Kiln is external.
_kiln_directory = repository_rule(
    implementation = _kiln_directory_impl,
    attrs = {"path": attr.string(mandatory = True)},
    local = True,
)

def _maybe(repo_rule, name, **kwargs):
    if not native.existing_rule(name):
        repo_rule(name = name, **kwargs)

def kiln_dependencies():
    """Declares the repositories Kiln's BUILD files and Bazel 4.2 need."""
    _maybe(
        native.local_repository,
        name = "rules_java",
        path = "/usr/share/bazel/rules/java",
    )
    _maybe(
        native.local_repository,
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
    )

    # Debian's bazel-rules-cc needs a newer Bazel; this one forwards to the
    # native rules.
    _maybe(
        _kiln_directory,
        name = "rules_cc",
        path = "third_party/rules_cc",
    )

    # `bazel test` looks these up even with coverage off.
    _maybe(
        _kiln_directory,
        name = "remote_coverage_tools",
        path = "third_party/remote_coverage_tools",
    )

    # LLVM, MLIR and LLD 19 from Debian (llvm-19-dev, libmlir-19-dev,
    # liblld-19-dev).
    _maybe(
        native.new_local_repository,
        name = "llvm",
        build_file = str(Label("//third_party:llvm.BUILD")),
        path = "/usr/lib/llvm-19",
    )
