#include "dist/rank.h"

#include <mutex>

#include "errors.h"

namespace mlxts::dist {

namespace {

std::mutex g_mu;
std::optional<mxd::Group> g_group;
// The running generation's own cancel flag (set by JS), and the flag every rank agreed on.
std::atomic<std::atomic<bool>*> g_want{nullptr};
std::atomic<bool> g_agreed{false};

class RankModel : public Model {
 public:
  RankModel(std::shared_ptr<Model> inner, mxd::Group g) : Model(inner->architecture(), inner->config()), inner_(std::move(inner)), g_(g) {
    params_ = inner_->params();  // handles: the same weights
  }

  mx::array forward(const mx::array& tokens, Cache& cache) override {
    // One scalar all_sum per pass: every rank runs the same passes, so all see the same sum here.
    std::atomic<bool>* want = g_want.load();
    const int32_t mine = want && want->load() ? 1 : 0;
    auto votes = mxd::all_sum(mx::array(mine, mx::int32), g_);
    if (votes.item<int32_t>() > 0) g_agreed.store(true);
    return inner_->forward(tokens, cache);
  }
  int num_layers() const override { return inner_->num_layers(); }
  std::optional<QuantSpec> quant_spec_for(const std::string& path, const QuantSpec& requested) const override {
    return inner_->quant_spec_for(path, requested);
  }

 private:
  std::shared_ptr<Model> inner_;
  mxd::Group g_;
};

}  // namespace

mxd::Group init_group(const std::string& backend) {
  std::lock_guard lock(g_mu);
  if (g_group) return *g_group;
  if (!mxd::is_available(backend))
    fail("E_BAD_ARGUMENT", "the MLX distributed backend \"" + backend + "\" is not available in this MLX build. Use --backend ring (TCP, always built in).");
  try {
    g_group = mxd::init(true, backend);
  } catch (const std::exception& e) {
    fail("E_MLX", std::string("MLX distributed init (") + backend + ") failed: " + e.what());
  }
  return *g_group;
}

std::optional<mxd::Group> group() {
  std::lock_guard lock(g_mu);
  return g_group;
}

CancelScope::CancelScope(std::atomic<bool>& local) : local_(local) {
  if (!group()) return;
  active_ = true;
  g_agreed.store(false);
  g_want.store(&local_);
}

CancelScope::~CancelScope() {
  if (active_) g_want.store(nullptr);
}

const std::atomic<bool>& CancelScope::flag() const { return active_ ? g_agreed : local_; }

std::shared_ptr<Model> wrap_rank_model(std::shared_ptr<Model> inner, mxd::Group g) { return std::make_shared<RankModel>(std::move(inner), g); }

}  // namespace mlxts::dist
