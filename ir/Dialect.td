//===- Dialect.td - The kiln dialect -----------------------*- tablegen -*-===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_TD
#define KILN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::kiln";
  let summary = "Kiln's graph-level ops on ranked tensors";
  let description = [{
    One op per graph operator. Names and semantics follow the ONNX operator
    specification wherever ONNX has the op (NumPy broadcasting, attribute
    names and defaults), so the GraphDef and ONNX importers share one
    vocabulary. Every op infers its result type from its operands and
    attributes (InferTypeOpInterface); the verifier checks the declared type
    against the inferred one.
  }];
  let hasConstantMaterializer = 1;
  // The dialect's discardable attributes, each checked where it appears:
  // kiln.name (string) on @main's arguments and results, the feed or fetch
  // they stand for; kiln.arena (unit) on the argument that is the arena;
  // kiln.local (unit) on an outlined kernel's argument that is an arena
  // buffer no other op reads or writes (its contents die with the kernel);
  // kiln.arena_bytes, kiln.arena_lower_bound and kiln.unplanned_bytes
  // (non-negative i64) on a function the memory plan has placed;
  // kiln.kernel (a string, the kernel's name) on the ops that form one kernel
  // (from lowering until outlining); kiln.parallel (unit) on a loop whose
  // iterations are independent (a tile loop); kiln.scratch (unit) on an
  // arena view that is a tile loop's temporary; kiln.checks (an array of
  // strings) on @main when its last results are kiln.check results, one
  // message each; kiln.launches (an array of [kernel, function, threads,
  // threads per block]: two strings and two non-negative i64, and for a
  // library call a fifth, an array of i64: codegen/cuda/Matmul.h) on a
  // module whose kernels a GPU backend split into GPU launches, in launch
  // order.
  // Any other kiln.* attribute is an error.
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    static constexpr llvm::StringLiteral kNameAttr = "kiln.name";
    static constexpr llvm::StringLiteral kArenaBytesAttr = "kiln.arena_bytes";
    static constexpr llvm::StringLiteral kArenaLowerBoundAttr =
        "kiln.arena_lower_bound";
    static constexpr llvm::StringLiteral kUnplannedBytesAttr =
        "kiln.unplanned_bytes";
    static constexpr llvm::StringLiteral kArenaAttr = "kiln.arena";
    static constexpr llvm::StringLiteral kLocalAttr = "kiln.local";
    /// On a kernel's argument: a constant (weights), which each run reads
    /// from wherever the last run left it, often memory.
    static constexpr llvm::StringLiteral kConstantAttr = "kiln.constant";
    static constexpr llvm::StringLiteral kKernelAttr = "kiln.kernel";
    static constexpr llvm::StringLiteral kParallelAttr = "kiln.parallel";
    static constexpr llvm::StringLiteral kScratchAttr = "kiln.scratch";
    /// On a linalg op inside a fusion: computed whole before the tile
    /// loops, not fused into each tile (a copy the tiles share).
    static constexpr llvm::StringLiteral kWholeAttr = "kiln.whole";
    static constexpr llvm::StringLiteral kChecksAttr = "kiln.checks";
    static constexpr llvm::StringLiteral kLaunchesAttr = "kiln.launches";
  }];
  // Attributes live in the attribute dictionary so that type inference can
  // read them from an OperationState built by the importers.
  let usePropertiesForAttributes = 0;
}

#endif // KILN_DIALECT_TD
