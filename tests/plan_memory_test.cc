//===- plan_memory_test.cc - The memory planner on random programs --------===//
//
// Part of Kiln. Random straight-line programs allocate buffers and use them;
// after kiln-plan-memory, every pair of buffers that are live at the same
// time must occupy disjoint bytes of the arena, checked exhaustively.
//
//===----------------------------------------------------------------------===//
#include <random>

#include "codegen/common/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

/// A random program: allocations of random sizes, some reshaped views, and
/// opaque uses of random live buffers.
std::string RandomProgram(uint32_t seed, int steps) {
  std::mt19937 rng(seed);
  std::string text = "func.func @f() {\n";
  struct Live {
    std::string name;
    int64_t size;
  };
  std::vector<Live> buffers;
  int next = 0;
  for (int s = 0; s < steps; ++s) {
    int choice = rng() % 4;
    if (buffers.empty() || choice == 0) {
      int64_t size = 1 + rng() % 512;
      std::string name = "%b" + std::to_string(next++);
      text += "  " + name + " = memref.alloc() : memref<" +
              std::to_string(size) + "xf32>\n";
      buffers.push_back({name, size});
    } else if (choice == 1 && buffers.back().size % 2 == 0) {
      // A view of the newest buffer, used later in place of it.
      Live &b = buffers.back();
      std::string name = "%v" + std::to_string(next++);
      text += "  " + name + " = memref.expand_shape " + b.name +
              " [[0, 1]] output_shape [2, " + std::to_string(b.size / 2) +
              "] : memref<" + std::to_string(b.size) + "xf32> into memref<2x" +
              std::to_string(b.size / 2) + "xf32>\n";
      text += "  \"test.use\"(" + name + ") : (memref<2x" +
              std::to_string(b.size / 2) + "xf32>) -> ()\n";
    } else {
      const Live &b = buffers[rng() % buffers.size()];
      text += "  \"test.use\"(" + b.name + ") : (memref<" +
              std::to_string(b.size) + "xf32>) -> ()\n";
    }
  }
  return text + "  return\n}\n";
}

struct Placed {
  int64_t offset, bytes, start, end;
};

TEST(PlanMemoryTest, LiveBuffersNeverOverlap) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                  mlir::memref::MemRefDialect>();
  mlir::MLIRContext context(registry);
  context.allowUnregisteredDialects();
  int checked_pairs = 0;
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(seed);
    std::string text = RandomProgram(seed, 60);
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(text, &context);
    ASSERT_TRUE(module) << text;
    mlir::PassManager pm(&context);
    pm.addNestedPass<mlir::func::FuncOp>(createPlanMemory());
    ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
    auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
    mlir::Block &body = func.getBody().front();
    llvm::DenseMap<mlir::Operation *, int64_t> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;
    std::vector<Placed> placed;
    int64_t arena =
        func->getAttrOfType<mlir::IntegerAttr>("kiln.arena_bytes").getInt();
    int64_t bound =
        func->getAttrOfType<mlir::IntegerAttr>("kiln.arena_lower_bound")
            .getInt();
    int64_t unplanned =
        func->getAttrOfType<mlir::IntegerAttr>("kiln.unplanned_bytes").getInt();
    EXPECT_LE(bound, arena);
    EXPECT_LE(arena, unplanned);
    func.walk([&](mlir::memref::ViewOp view) {
      llvm::APInt offset;
      ASSERT_TRUE(mlir::matchPattern(view.getByteShift(),
                                     mlir::m_ConstantInt(&offset)));
      Placed p{offset.getSExtValue(), view.getType().getNumElements() * 4,
               position[view], 0};
      p.end = p.start;
      std::vector<mlir::Value> values = {view};
      while (!values.empty()) {
        mlir::Value v = values.back();
        values.pop_back();
        for (mlir::Operation *user : v.getUsers()) {
          p.end = std::max(p.end, position[user]);
          for (mlir::Value r : user->getResults())
            values.push_back(r);
        }
      }
      EXPECT_LE(p.offset + p.bytes, arena);
      placed.push_back(p);
    });
    for (size_t i = 0; i < placed.size(); ++i)
      for (size_t j = i + 1; j < placed.size(); ++j) {
        const Placed &a = placed[i], &b = placed[j];
        bool live_together = a.start <= b.end && b.start <= a.end;
        bool overlap =
            a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
        EXPECT_FALSE(live_together && overlap)
            << "buffers at " << a.offset << " and " << b.offset;
        ++checked_pairs;
      }
  }
  EXPECT_GT(checked_pairs, 10000);
}

} // namespace
} // namespace kiln
