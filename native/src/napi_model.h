// NativeModel (kernel/engine/native-types.ts): the JS object over one LoadedModel.
#pragma once

#include <napi.h>

#include <memory>

#include "loaded_model.h"

namespace mlxts {

// What info() returns, computed on the worker after load/quantize so the JS thread never walks weights
// that a pool thread might be replacing.
struct InfoSnapshot {
  std::string architecture, hf_class, model_type, dtype;
  double num_parameters = 0, weight_bytes = 0;
  QuantLayout quant;
  int context_length = 0, vocab_size = 0, num_layers = 0, hidden_size = 0;
  bool tie = true;
};
InfoSnapshot snapshot(const LoadedModel& m);

struct AddonData {
  Napi::FunctionReference model_ctor;
};

Napi::Function define_model_class(Napi::Env env);
// A NativeModel over `m`; hf_config is the loadModel() option info().config and save() start from.
Napi::Object wrap_model(Napi::Env env, std::shared_ptr<LoadedModel> m, InfoSnapshot info, Napi::Object hf_config);
// The LoadedModel behind a NativeModel object (generate's params.draft, train/'s module functions);
// nullptr for any other value.
std::shared_ptr<LoadedModel> unwrap_model(Napi::Env env, const Napi::Value& v);

}  // namespace mlxts
