// The magics over the engine. Importing this module registers them all (kernel/magics/index.ts imports it).
import "./load.js";
import "./register.js";
import "./models.js";
import "./fit.js";
import "./generate.js";
import "./chat.js";
import "./quantize.js";
import "./profile.js";
import "./memory.js";
import "./memtrace.js";
import "./bench.js";
import "./kernels.js";
import "./device.js";
import "./limit.js";
import "./cache.js";
import "./finetune.js";
