// generateBatch() of NativeModel: batched and continuous generation (the loop is batch_loop.cpp).
#pragma once

#include <memory>

#include <napi.h>

#include "model.h"

namespace mlxts {

// info[0]: the first rows, [{ id, prompt: Int32Array, params: NativeGenerateParams }, ...] (at least one);
// info[1]: onEvent(ev). Returns a NativeBatch ({ add(row): boolean, cancel(id), cancelAll() }). Holds the
// model (busy) until its "end" event. Throws E_BAD_ARGUMENT for a bad row and E_BUSY when the model runs a
// single-row generation.
Napi::Value StartBatch(const Napi::CallbackInfo& info, std::shared_ptr<ModelSlot> slot);

}  // namespace mlxts
