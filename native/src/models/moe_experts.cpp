#include "models/moe_experts.h"

#include "errors.h"

namespace mlxts {

void stack_expert_tensors(WeightMap& w, const ModelConfig& c) {
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".mlp.";
    for (const char* n : {"up_proj", "down_proj", "gate_proj"}) {
      for (const char* s : {".weight", ".scales", ".biases"}) {
        if (!w.count(p + "experts.0." + n + s)) continue;
        std::vector<mx::array> parts;
        for (int e = 0; e < c.num_experts; ++e) {
          const std::string k = p + "experts." + std::to_string(e) + "." + n + s;
          auto it = w.find(k);
          if (it == w.end())
            fail("E_CORRUPT_WEIGHTS", "tensor \"" + k + "\" is missing: the checkpoint has " + n + " for expert 0 but not for every one of num_experts = " +
                                          std::to_string(c.num_experts) + ". Re-download it.");
          parts.push_back(it->second);
          w.erase(it);
        }
        w.insert_or_assign(p + "switch_mlp." + n + s, mx::stack(parts));
      }
    }
  }
}

}  // namespace mlxts
