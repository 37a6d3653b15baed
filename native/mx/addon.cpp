// The mx addon's module entry: array handles plus the creation, op, nn and runtime bindings.
#include "common.h"

namespace mlxts::mxb {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(std::make_unique<AddonData>().release());  // freed by node-addon-api when the environment ends
  // Print True/False as Python's mlx does, so repr text matches numpy/mlx.
  mx::get_global_formatter().capitalize_bool = true;
  register_array(env, exports);
  register_creation(env, exports);
  register_ops(env, exports);
  register_nn(env, exports);
  register_runtime(env, exports);
  return exports;
}

}  // namespace mlxts::mxb

static Napi::Object InitMx(Napi::Env env, Napi::Object exports) { return mlxts::mxb::init(env, exports); }

NODE_API_MODULE(mlx_ts_mx, InitMx)
