// savePromptCache / loadPromptCache of NativeModel (kernel/engine/native-types.ts): the slot's KV cache
// to and from a file in mlx-lm's layout (prompt_cache.h), on libuv's pool.
#pragma once

#include <napi.h>

#include <memory>

#include "loaded_model.h"

namespace mlxts {

// savePromptCache(file, metadata): Promise<{ tokens, bytes }>
Napi::Value save_prompt_cache_js(const Napi::CallbackInfo& cb, std::shared_ptr<LoadedModel> m);
// loadPromptCache(file): Promise<{ tokens, idsKnown, classes, bytes, metadata }>
Napi::Value load_prompt_cache_js(const Napi::CallbackInfo& cb, std::shared_ptr<LoadedModel> m);

}  // namespace mlxts
