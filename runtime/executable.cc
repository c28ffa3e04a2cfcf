//===- executable.cc - What the compiler hands the runtime ----------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/executable.h"

#include "absl/strings/str_cat.h"

namespace kiln {

int64_t TensorSpec::num_elements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::string TensorSpec::TypeString() const {
  return DTypeName(dtype) + ShapeToString(shape);
}

Executable::Executable(Signature signature,
                       std::vector<std::string> kernel_names,
                       std::vector<KernelFn> kernels,
                       std::vector<Dispatch> plan,
                       std::shared_ptr<const void> code)
    : signature_(std::move(signature)), names_(std::move(kernel_names)),
      kernels_(std::move(kernels)), plan_(std::move(plan)),
      code_(std::move(code)) {}

absl::Status Executable::Run(const std::map<std::string, const Tensor *> &feeds,
                             std::vector<Tensor> *fetches) const {
  std::vector<void *> feed_data;
  for (const TensorSpec &spec : signature_.feeds) {
    auto it = feeds.find(spec.name);
    if (it == feeds.end())
      return absl::InvalidArgumentError(
          absl::StrCat("missing feed '", spec.name, "' (", spec.TypeString(),
                       "), which the fetches need"));
    const Tensor &t = *it->second;
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", spec.name, "': expected ", spec.TypeString(),
                       ", got ", t.TypeString()));
    if (t.raw_data() == nullptr && t.num_elements() > 0)
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", spec.name, "' has no data"));
    feed_data.push_back(const_cast<void *>(t.raw_data()));
  }
  std::vector<Tensor> results;
  for (const TensorSpec &spec : signature_.fetches) {
    absl::StatusOr<Tensor> t = Tensor::Allocate(spec.dtype, spec.shape);
    if (!t.ok())
      return t.status();
    results.push_back(*std::move(t));
  }
  std::vector<void *> pointers;
  std::vector<void *> args;
  for (const Dispatch &d : plan_) {
    pointers.clear();
    for (const ArgRef &a : d.args)
      pointers.push_back(a.kind == ArgRef::Kind::kFeed
                             ? feed_data[a.index]
                             : results[a.index].raw_data());
    args.clear();
    for (void *&p : pointers)
      args.push_back(&p);
    kernels_[d.kernel](args.data());
  }
  *fetches = std::move(results);
  return absl::OkStatus();
}

std::string Executable::PlanString() const {
  std::string text;
  for (const Dispatch &d : plan_) {
    absl::StrAppend(&text, "dispatch @", names_[d.kernel], "(");
    for (size_t i = 0; i < d.args.size(); ++i) {
      const ArgRef &a = d.args[i];
      const TensorSpec &spec = a.kind == ArgRef::Kind::kFeed
                                   ? signature_.feeds[a.index]
                                   : signature_.fetches[a.index];
      absl::StrAppend(&text, i ? ", " : "",
                      a.kind == ArgRef::Kind::kFeed ? "feed " : "fetch ",
                      spec.name, ": ", spec.TypeString());
    }
    absl::StrAppend(&text, ")\n");
  }
  return text;
}

} // namespace kiln
