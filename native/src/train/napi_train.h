// train() and setAdapter() of the addon (kernel/engine/finetune-native.ts NativeTrainAddon).
#pragma once

#include <napi.h>

namespace mlxts {

// train(model, params, onEvent) -> { cancel() }: runs the loop on a generation worker.
Napi::Value js_train(const Napi::CallbackInfo& cb);
// setAdapter(model, file | null, config) -> Promise<number of adapted layers>: sets (or clears) a LoRA adapter.
Napi::Value js_set_adapter(const Napi::CallbackInfo& cb);
// fuse(model, dir, {dequantize}) -> Promise<{fusedLayers, dequantizedLayers, weightMap, totalBytes, totalParameters}>:
// writes the model's weights with its adapter merged into dir (config/index/tokenizer files are the caller's).
Napi::Value js_fuse(const Napi::CallbackInfo& cb);

}  // namespace mlxts
