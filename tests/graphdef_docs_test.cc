//===- graphdef_docs_test.cc - docs/graphdef.md against the op table ------===//
//
// Part of Kiln. The GraphDef reference lists every op the importer accepts
// with its inputs and attributes; this test keeps the page and the op table
// (graph/op_table.cc) the same, both ways.
//
//===----------------------------------------------------------------------===//
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "graph/op_table.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

/// The rows of the page's op table: op name -> the attribute names listed.
std::map<std::string, std::set<std::string>> DocumentedOps() {
  std::ifstream in("docs/graphdef.md");
  EXPECT_TRUE(in) << "cannot read docs/graphdef.md";
  std::map<std::string, std::set<std::string>> ops;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    if (line.rfind("| op | inputs | attributes |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table || line.rfind("|---", 0) == 0)
      continue;
    if (line.rfind("| ", 0) != 0)
      break;
    std::string name = line.substr(2, line.find(' ', 2) - 2);
    size_t attrs = line.find('|', line.find('|', 2) + 1);
    std::set<std::string> names;
    for (size_t tick = line.find('`', attrs); tick != std::string::npos;
         tick = line.find('`', line.find('`', tick + 1) + 1))
      names.insert(line.substr(tick + 1, line.find('`', tick + 1) - tick - 1));
    ops[name] = names;
  }
  return ops;
}

TEST(GraphDefDocsTest, OpTableAndPageAgree) {
  std::map<std::string, std::set<std::string>> documented = DocumentedOps();
  ASSERT_FALSE(documented.empty()) << "no op table found in docs/graphdef.md";
  std::vector<std::string> supported = SupportedOps();
  for (const std::string &op : supported) {
    SCOPED_TRACE(op);
    auto row = documented.find(op);
    ASSERT_NE(row, documented.end()) << "not documented in docs/graphdef.md";
    if (op == "Placeholder")
      continue;
    std::set<std::string> attrs;
    for (const AttrSpec &a : LookupOp(op)->attrs)
      attrs.insert(a.name);
    EXPECT_EQ(row->second, attrs);
  }
  for (const auto &[op, attrs] : documented)
    EXPECT_TRUE(std::find(supported.begin(), supported.end(), op) !=
                supported.end())
        << "docs/graphdef.md lists '" << op << "', which Kiln does not accept";
}

} // namespace
} // namespace kiln
