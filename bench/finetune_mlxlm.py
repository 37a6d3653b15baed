"""mlx-lm's side of bench/finetune.mjs: mlx_lm.lora's training setup (load, freeze, linear_to_lora_layers,
Adam, load_dataset on a --data directory, np.random.seed) run through mlx_lm.tuner.trainer.train, with
a callback reporting every step's tokens and time. Prints one JSON line."""
import argparse
import json
import types
from pathlib import Path
import tempfile

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from mlx_lm.tuner.datasets import CacheDataset, load_dataset
from mlx_lm.tuner.trainer import TrainingArgs, TrainingCallback, train
from mlx_lm.tuner.utils import linear_to_lora_layers
from mlx_lm.utils import load
import mlx_lm

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--data", required=True)
p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
p.add_argument("--float32", action="store_true")
p.add_argument("--rank", type=int, default=8)
p.add_argument("--scale", type=float, default=20.0)
p.add_argument("--num-layers", type=int, default=16)
p.add_argument("--iters", type=int, default=20)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--lr", type=float, default=1e-5)
p.add_argument("--max-seq-len", type=int, default=2048)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

mx.set_default_device(mx.cpu if a.device == "cpu" else mx.gpu)
np.random.seed(a.seed)
mx.random.seed(a.seed)
model, tok = load(a.model)
if a.float32:
    model.set_dtype(mx.float32)
model.freeze()
linear_to_lora_layers(model, a.num_layers, {"rank": a.rank, "scale": a.scale, "dropout": 0.0})
train_set, _, _ = load_dataset(types.SimpleNamespace(data=a.data, train=True, test=False, mask_prompt=False), tok)

steps = []


class Record(TrainingCallback):
    def on_train_loss_report(self, info):
        # steps_per_report=1: tokens_per_second is this step's tokens over this step's time
        steps.append({"tokens": info["trained_tokens"] - (steps[-1]["trained"] if steps else 0), "trained": info["trained_tokens"],
                      "seconds": (info["trained_tokens"] - (steps[-1]["trained"] if steps else 0)) / info["tokens_per_second"],
                      "loss": info["train_loss"], "peak": info["peak_memory"] * 1e9})


with tempfile.TemporaryDirectory() as d:
    args = TrainingArgs(batch_size=a.batch, iters=a.iters, steps_per_report=1, steps_per_eval=10**9, steps_per_save=10**9,
                        max_seq_length=a.max_seq_len, adapter_file=str(Path(d) / "adapters.safetensors"))
    mx.reset_peak_memory()
    train(model, optim.Adam(learning_rate=a.lr), CacheDataset(train_set), None, args, training_callback=Record())
print(json.dumps({"steps": steps, "device": str(mx.default_device()), "mlx": mx.__version__, "mlx_lm": mlx_lm.__version__}))
