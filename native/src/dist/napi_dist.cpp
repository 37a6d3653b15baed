#include "dist/napi_dist.h"

#include "dist/rank.h"
#include "napi_async.h"
#include "napi_values.h"

namespace mlxts::dist {

namespace {

struct Joined {
  int rank = 0;
  int size = 1;
};

// distInit(backend): joins the group on the pool (a ring blocks until every rank has connected).
Napi::Value js_dist_init(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  return as_promise(env, [&]() -> Napi::Value {
    const std::string backend = string_arg(env, cb[0], "distInit: backend");
    return run_async<Joined>(
        env,
        [backend] {
          auto g = init_group(backend);
          return Joined{g.rank(), g.size()};
        },
        [](Napi::Env e, Joined& j) -> Napi::Value {
          auto o = Napi::Object::New(e);
          o.Set("rank", j.rank);
          o.Set("size", j.size);
          return o;
        });
  });
}

}  // namespace

ShardSpec shard_spec_from_js(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: shards must be the number of ranks.");
  const int n = v.As<Napi::Number>().Int32Value();
  auto g = group();
  if (!g) throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: shards needs distInit() first (this process is not a rank).");
  if (g->size() != n)
    throw to_js_error(env, "E_BAD_ARGUMENT", "loadModel: shards is " + std::to_string(n) + " but the distributed group has " + std::to_string(g->size()) + " ranks.");
  return ShardSpec{g->rank(), g->size()};
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("distInit", Napi::Function::New(env, js_dist_init, "distInit")); }

}  // namespace mlxts::dist
