// The N-API entry of a generation (the loop itself is generation_loop.cpp, its threads generation_pool.cpp).
#pragma once

#include <memory>

#include <napi.h>

#include "generation_loop.h"
#include "model.h"

namespace mlxts {

// info[0]: Int32Array prompt, info[1]: NativeGenerateParams, info[2]: onEvent(ev).
// Returns the NativeGeneration object ({cancel()}); events arrive on the JS thread through a
// thread-safe function (kernel/engine/native-types.ts describes them). Throws E_BAD_ARGUMENT for
// invalid arguments or when a generation already runs on this slot.
Napi::Value StartGeneration(const Napi::CallbackInfo& info, std::shared_ptr<ModelSlot> slot);

// Shared with the batched generation (napi_batch.cpp): NativeGenerateParams -> GenParams (throws an
// E_BAD_ARGUMENT Napi::Error), and Stats -> NativeGenerationStats.
GenParams parse_params(Napi::Env env, const Napi::Value& value, int vocab);
Napi::Object stats_to_js(Napi::Env env, const Stats& s);

}  // namespace mlxts
