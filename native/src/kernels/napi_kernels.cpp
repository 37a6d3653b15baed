#include "kernels/napi_kernels.h"

#include "kernels/registry.h"
#include "loaded_model.h"
#include "napi_async.h"
#include "napi_values.h"

namespace mlxts::kernels {

namespace {

const char* mode_name(Mode m) { return m == Mode::On ? "on" : m == Mode::Off ? "off" : "auto"; }

int int_field(Napi::Env env, const Napi::Object& o, const char* key, const char* what) {
  return static_cast<int>(number_arg(env, o.Get(key), what));
}

// kernelsConfigure({ dir, rules, allow, allOff }): rules are checked in TypeScript (kernels.ts).
Napi::Value js_configure(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  if (cb.Length() < 1 || !cb[0].IsObject()) throw to_js_error(env, "E_BAD_ARGUMENT", "kernelsConfigure needs { dir, rules, allow, allOff }.");
  auto o = cb[0].As<Napi::Object>();
  const auto dir = string_arg(env, o.Get("dir"), "kernelsConfigure: dir");
  std::vector<Rule> rules;
  auto rs = o.Get("rules");
  if (!rs.IsArray()) throw to_js_error(env, "E_BAD_ARGUMENT", "kernelsConfigure: rules must be an array.");
  for (uint32_t i = 0; i < rs.As<Napi::Array>().Length(); ++i) {
    auto r = rs.As<Napi::Array>().Get(i).As<Napi::Object>();
    Rule x;
    x.kernel = string_arg(env, r.Get("kernel"), "rule.kernel");
    x.dtype = string_arg(env, r.Get("dtype"), "rule.dtype");
    x.head_dim = int_field(env, r, "headDim", "rule.headDim");
    x.gqa = int_field(env, r, "gqa", "rule.gqa");
    x.kv_min = int_field(env, r, "kvMin", "rule.kvMin");
    x.kv_max = int_field(env, r, "kvMax", "rule.kvMax");
    x.batch_max = int_field(env, r, "batchMax", "rule.batchMax");
    x.use = r.Get("use").ToBoolean().Value();
    rules.push_back(x);
  }
  std::vector<std::string> allow;
  auto al = o.Get("allow");
  if (al.IsArray())
    for (uint32_t i = 0; i < al.As<Napi::Array>().Length(); ++i) allow.push_back(string_arg(env, al.As<Napi::Array>().Get(i), "allow[i]"));
  configure(dir, std::move(rules), std::move(allow), o.Get("allOff").ToBoolean().Value());
  return env.Undefined();
}

Napi::Value js_set_mode(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  const auto name = string_arg(env, cb[0], "kernelsSetMode: name");
  const auto m = string_arg(env, cb[1], "kernelsSetMode: mode");
  if (m != "on" && m != "off" && m != "auto") throw to_js_error(env, "E_BAD_ARGUMENT", "kernelsSetMode: mode must be on, off or auto.");
  try {
    set_mode(name, m == "on" ? Mode::On : m == "off" ? Mode::Off : Mode::Auto);
  } catch (const std::invalid_argument& e) {
    throw to_js_error(env, "E_BAD_ARGUMENT", e.what());
  }
  return env.Undefined();
}

Napi::Value js_status(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  auto list = status();
  auto arr = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& s = list[i];
    auto o = Napi::Object::New(env);
    o.Set("name", s.name);
    o.Set("backend", s.backend);
    o.Set("available", s.available);
    o.Set("reason", s.reason);
    o.Set("mode", mode_name(s.mode));
    o.Set("allowed", s.allowed);
    o.Set("calls", static_cast<double>(s.calls));
    o.Set("fallbacks", static_cast<double>(s.fallbacks));
    auto checks = Napi::Array::New(env, s.checks.size());
    for (size_t j = 0; j < s.checks.size(); ++j) {
      const auto& c = s.checks[j];
      auto co = Napi::Object::New(env);
      co.Set("dtype", c.dtype);
      co.Set("headDim", c.head_dim);
      co.Set("gqa", c.gqa);
      co.Set("ok", c.ok);
      co.Set("maxError", c.max_error);
      co.Set("error", c.error);
      checks.Set(j, co);
    }
    o.Set("checks", checks);
    arr.Set(i, o);
  }
  return arr;
}

Napi::Value js_reset_counts(const Napi::CallbackInfo& cb) {
  reset_counts();
  return cb.Env().Undefined();
}

// kernelsBench({ dtype, headDim, nHeads, nKvHeads, kvLen, batch, iters }) -> Promise<{ sdpaUs, customUs, maxError }>
Napi::Value js_bench(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  return as_promise(env, [&]() -> Napi::Value {
    if (cb.Length() < 1 || !cb[0].IsObject()) throw to_js_error(env, "E_BAD_ARGUMENT", "kernelsBench needs an options object.");
    auto o = cb[0].As<Napi::Object>();
    const auto d = string_arg(env, o.Get("dtype"), "kernelsBench: dtype");
    const mx::Dtype dtype = d == "float16" ? mx::float16 : d == "float32" ? mx::float32 : mx::bfloat16;
    const int D = int_field(env, o, "headDim", "kernelsBench: headDim"), Hq = int_field(env, o, "nHeads", "kernelsBench: nHeads"),
              Hkv = int_field(env, o, "nKvHeads", "kernelsBench: nKvHeads"), L = int_field(env, o, "kvLen", "kernelsBench: kvLen"),
              B = int_field(env, o, "batch", "kernelsBench: batch"), iters = int_field(env, o, "iters", "kernelsBench: iters");
    return run_async<BenchResult>(
        env,
        [=] {
          std::lock_guard lock(mlx_job_mutex());
          return bench_decode_attention(dtype, D, Hq, Hkv, L, B, iters);
        },
        [](Napi::Env e, BenchResult& r) -> Napi::Value {
          auto out = Napi::Object::New(e);
          out.Set("sdpaUs", r.sdpa_us);
          out.Set("customUs", r.custom_us);
          out.Set("maxError", r.max_error);
          return out;
        });
  });
}

}  // namespace

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("kernelsConfigure", Napi::Function::New(env, js_configure, "kernelsConfigure"));
  exports.Set("kernelsSetMode", Napi::Function::New(env, js_set_mode, "kernelsSetMode"));
  exports.Set("kernelsStatus", Napi::Function::New(env, js_status, "kernelsStatus"));
  exports.Set("kernelsResetCounts", Napi::Function::New(env, js_reset_counts, "kernelsResetCounts"));
  exports.Set("kernelsBench", Napi::Function::New(env, js_bench, "kernelsBench"));
}

}  // namespace mlxts::kernels
