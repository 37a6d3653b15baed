#!/usr/bin/env bash
# The GPU suite and benchmarks in as few device calls as the lease allows (the `device` tool; stage the
# runtime first with ../shared/tools/device-stage, then `source .device/on-device.sh && bash test/gpu/device-run.sh MODE`).
#   suite   fixtures, a SIGTERM probe, bench/first-token.mjs, npm run test:gpu (vitest); starts the
#           qwen3-*-shape checkpoints in the background (setsid: they outlive the call while the machine is warm)
#   bench   waits for those checkpoints, then bench/engine-vs-mlxlm.mjs --device gpu
#   kernels1, kernels2   the two calls for the custom kernels, batching and fine-tuning (below)
#   extra   after kernels1 on a short lease: engine vs mlx-lm, fused swiglu off/on, ncu kernels per token, kernel e2e at 32k
#   short   one call: fixtures, the kernel microbench, the suite without the 64-shape kernel grid
#   last    one call on what is left of a lease: LoRA training, the kernels file's greedy on/off check on the bf16
#           shape, batch sizes 1-64 again, the KV-cache kinds at 32k
#   final2  LoRA training, batch 1-64 (median of 3, distinct and equal prompts), a SIGTERM probe in a JIT compile
#   final3  the batch decode kernel: GPU check, batch 1-64 with it on and off, the KV-kinds batch file
#   final4  batched rows of each KV kind against alone on the GPU, the batch kernel's check, batch-engine on the GPU
#   s29     LoRA training (3 trials), SIGTERM in a JIT compile with the signal masks sampled, the sigterm file
#   batch-profile   after last: kernels per batched step at 1 and 16 rows (ncu), batches with quantized/rotating KV
#   throughput, suite-moe, speculative   three calls for the open bench goals: LoRA training, batching and the
#           KV cache at 32k; the parity and kernel files of the suite and the 30B-A3B MoE shape; speculative
#           decoding on the SmolLM2 pair (its GGUF comes in two parts, carried by the two calls before it)
# test/gpu/prewarm.py compiles the quantized-matmul variants in parallel first, so the suite does not wait on them.
# Every step has its own hard limit (timeout -s KILL) and logs under $OUT; a failed step does not stop the rest.
set -uo pipefail
mode=${1:?suite or bench}
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
py=.venv/bin/python
cache=${XDG_CACHE_HOME:-$HOME/.cache}/mlx-ts/mlx-0.32.4/kernels
export MLX_PTX_CACHE_DIR=$cache
step() { local limit=$1 name=$2; shift 2; local t0=$(date +%s); echo "== $name (limit ${limit}s) $(date -u +%T)"; timeout -s KILL "$limit" "$@"; local rc=$?; echo "== $name: rc=$rc in $(( $(date +%s) - t0 )) s"; return 0; }
# One GPU test file in its own vitest run, so a file cut off by its limit does not take the others' failure
# reports with it (vitest prints them at the end of a run); its JSON goes to /tmp/vitest-NAME.json.
gpu_file() {
  local limit=$1 f=$2; shift 2
  step "$limit" "vitest $f $*" env MLX_TS_WARMUP=0 FORCE_COLOR=0 NO_COLOR=1 node node_modules/vitest/vitest.mjs run --config vitest.gpu.config.ts \
    "test/gpu/$f.test.ts" "$@" --reporter=default --reporter=json --outputFile.json="/tmp/vitest-$f.json" 2>&1 | grep -vE "^\s+✓"
}
# One summary line over those files' JSON, and all of it in $OUT/vitest.json.
suite_summary() {
  node -e 'const fs=require("fs"); const r=[]; for (const f of process.argv.slice(1)) if (fs.existsSync(f)) r.push(JSON.parse(fs.readFileSync(f,"utf8"))); const n=(k)=>r.reduce((a,x)=>a+x[k],0); console.log(`GPU suite: ${n("numPassedTests")} passed, ${n("numFailedTests")} failed, ${n("numPendingTests")} skipped, ${n("numTotalTests")} tests in ${r.length} files`); fs.writeFileSync(process.env.OUT+"/vitest.json", JSON.stringify(r))' /tmp/vitest-*.json
}

# A process told SIGTERM while busy: how long until it is gone, and if it is not, what its threads are doing.
probe_term() {
  local label=$1; shift
  "$@" > "$OUT/probe-$label.txt" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do grep -q busy "$OUT/probe-$label.txt" 2>/dev/null && break; sleep 0.1; done
  sleep 2
  local t0=$(date +%s%N); kill -TERM $pid
  for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then
    echo "probe $label: ALIVE 10 s after SIGTERM; state:"
    grep -E "State|SigBlk|SigCgt|SigPnd|ShdPnd|Threads" /proc/$pid/status
    for t in /proc/$pid/task/*; do echo "$(cat $t/comm) $(awk '{print $3}' $t/stat) wchan=$(cat $t/wchan 2>/dev/null) blk=$(grep SigBlk $t/status | awk '{print $2}')"; done | sort | uniq -c | head -40
    kill -KILL $pid; wait $pid 2>/dev/null
  else
    wait $pid; echo "probe $label: exited (rc=$?) $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM"
  fi
}

# As probe_term, with the signal state sampled every 250 ms from "busy" until the process is gone: the process's
# ignored/caught/pending masks and the threads that block SIGTERM (bit 15), so a lost signal shows where it went.
probe_term_sampled() {
  local label=$1 delay=$2; shift 2
  local log="$OUT/probe-$label.txt"
  "$@" > /tmp/probe-$label.out 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do grep -q busy /tmp/probe-$label.out 2>/dev/null && break; sleep 0.1; done
  sample() {
    local st=/proc/$pid/status
    [ -r $st ] || return
    local blk=0 n=0 m t
    for t in /proc/$pid/task/*; do n=$((n+1)); m=$(awk '/SigBlk/{print $2}' $t/status 2>/dev/null); [ -n "$m" ] && (( (16#$m >> 14) & 1 )) && blk=$((blk+1)); done
    echo "$1 $(date +%s.%N | cut -c1-14) $(grep -E 'SigIgn|SigCgt|ShdPnd|SigPnd' $st | tr -s '\t ' ' ' | tr '\n' ' ') threads=$n blockingTERM=$blk"
  }
  local end=$(( $(date +%s%N) + delay * 1000000000 ))
  while [ $(date +%s%N) -lt $end ]; do sample pre >> "$log"; sleep 0.25; done
  local t0=$(date +%s%N); kill -TERM $pid
  for _ in $(seq 1 20); do kill -0 $pid 2>/dev/null || break; sample post >> "$log"; sleep 0.25; done
  if kill -0 $pid 2>/dev/null; then
    echo "probe $label: ALIVE 5 s after SIGTERM" | tee -a "$log"
    kill -KILL $pid; wait $pid 2>/dev/null
  else
    wait $pid; echo "probe $label: exited (rc=$?) $(( ($(date +%s%N) - t0) / 1000000 )) ms after SIGTERM" | tee -a "$log"
  fi
  cat /tmp/probe-$label.out >> "$log"
}

if [ "$mode" = suite ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  node -e 'const a=require("./native/build/Release/mlx_ts.node"); console.log(JSON.stringify(a.runtime()))'
  step 120 "test fixtures" $py scripts/make-fixtures.py
  step 120 "qwen3-0.6b-shape-4bit" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-4bit
  empty=$(mktemp -d /tmp/probe-ptx-XXXX)
  probe_term compile env MLX_PTX_CACHE_DIR=$empty node test/gpu/busy-child.mjs compile test/.fixtures/models/qwen3-tiny-8bit
  probe_term eval node test/gpu/busy-child.mjs eval
  rm -rf "$empty"
  step 300 "first token" node bench/first-token.mjs --model test/.fixtures/models/qwen3-0.6b-shape-4bit \
    --phases before-cold,before-warm,after-warm,after-warm --cache "$cache" --out "$OUT/first-token.json"
  ls -la "$cache" > "$OUT/kernel-cache-after-first-token.txt" 2>&1
  # The benchmark checkpoints (about 47 GB) are written while the suite runs; setsid keeps the writer alive after this call.
  setsid nohup $py scripts/make-fixtures.py --gpu-shapes > /tmp/gpu-shapes.log 2>&1 < /dev/null &
  step 250 "vitest (GPU suite)" env MLX_TS_WARMUP=0 FORCE_COLOR=0 NO_COLOR=1 node node_modules/vitest/vitest.mjs run --config vitest.gpu.config.ts \
    --reporter=default --reporter=json --outputFile.json="$OUT/vitest.json"
  ls -la "$cache" > "$OUT/kernel-cache.txt" 2>&1; du -sh "$cache" >> "$OUT/kernel-cache.txt"
  cat /tmp/gpu-shapes.log
elif [ "$mode" = final ]; then
  # One call for what a short lease allows: the GPU suite, then two rows of the benchmark.
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  step 120 "test fixtures" $py scripts/make-fixtures.py
  (for m in qwen3-0.6b-shape-bf16 qwen3-8b-shape-4bit; do $py scripts/make-fixtures.py --gpu-shapes --only $m; done > /tmp/gpu-shapes.log 2>&1) &
  gen=$!
  empty=$(mktemp -d /tmp/probe-ptx-XXXX)
  probe_term compile env MLX_PTX_CACHE_DIR=$empty node test/gpu/busy-child.mjs compile test/.fixtures/models/qwen3-tiny-8bit
  rm -rf "$empty"
  step ${SUITE_LIMIT:-220} "vitest (GPU suite)" env MLX_TS_WARMUP=0 FORCE_COLOR=0 NO_COLOR=1 node node_modules/vitest/vitest.mjs run --config vitest.gpu.config.ts \
    --reporter=verbose --reporter=json --outputFile.json="$OUT/vitest.json"
  wait $gen; cat /tmp/gpu-shapes.log
  step ${BENCH_LIMIT:-150} "engine vs mlx-lm (GPU)" node bench/engine-vs-mlxlm.mjs --device gpu --prompts 512 --gen 128 --runs 5 --models ${BENCH_MODELS:-qwen3-0.6b-shape-bf16,qwen3-8b-shape-4bit}
  cp bench/results/engine-gpu.json "$OUT/" 2>/dev/null
  ls -la "$cache" > "$OUT/kernel-cache.txt" 2>&1
elif [ "$mode" = kernels1 ]; then
  # First call after staging: fixtures, the checkpoints in the background, the kernel microbench, the GPU suite.
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  $py test/gpu/prewarm.py bfloat16,float32 > "$OUT/prewarm.txt" 2>&1 &
  warm=$!
  step 120 "test fixtures" $py scripts/make-fixtures.py
  setsid nohup bash -c "for m in qwen3-0.6b-shape-4bit qwen3-0.6b-shape-bf16 qwen3-8b-shape-bf16 qwen3-8b-shape-4bit; do $py scripts/make-fixtures.py --gpu-shapes --only \$m; done" > /tmp/gpu-shapes.log 2>&1 < /dev/null &
  step 150 "kernel microbench" node bench/kernels.mjs --rounds 3 --save-table
  cp bench/results/kernels.json "$OUT/kernels-micro.json" 2>/dev/null
  wait $warm; tail -1 "$OUT/prewarm.txt"
  for f in sigterm kernels session interop parity kernel; do gpu_file ${FILE_LIMIT:-120} $f; done
  suite_summary
  cat /tmp/gpu-shapes.log
elif [ "$mode" = kernels2 ]; then
  # Second call: end-to-end decode with the kernel off/on on the 8B shape, batching, fine-tuning.
  for _ in $(seq 1 200); do pgrep -f "make-fixtures.py --gpu-shapes" > /dev/null || break; sleep 1; done
  cat /tmp/gpu-shapes.log
  step ${E2E_LIMIT:-260} "kernels end to end" node bench/kernels.mjs --rounds 1 --iters 5 --lengths 1024,4096,16384,32768 --models test/.fixtures/models/qwen3-8b-shape-bf16 --runs 3 --gen 32
  cp bench/results/kernels.json "$OUT/kernels-e2e.json" 2>/dev/null
  step ${BATCH_LIMIT:-150} "batch" node bench/batch.mjs --device gpu --model test/.fixtures/models/qwen3-0.6b-shape-bf16 --sizes 1,4,16 --with-64 --gen 64 --out "$OUT/batch-gpu.json"
  [ -f bench/finetune.mjs ] && step ${FT_LIMIT:-120} "finetune" node bench/finetune.mjs --device gpu --model test/.fixtures/models/qwen3-0.6b-shape-bf16
  cp bench/results/finetune*.json "$OUT/" 2>/dev/null
elif [ "$mode" = extra ]; then
  # A second call after kernels1, for a short lease: our engine beside mlx-lm on two shapes, the fused swiglu
  # off vs on, kernels per decode token (ncu), and the custom kernel end to end on the 8B shape at 32k.
  nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv
  step ${BENCH_LIMIT:-180} "engine vs mlx-lm (GPU)" node bench/engine-vs-mlxlm.mjs --device gpu --prompts 512 --gen 128 --runs 5 --models ${BENCH_MODELS:-qwen3-0.6b-shape-bf16,qwen3-8b-shape-4bit}
  cp bench/results/engine-gpu.json "$OUT/" 2>/dev/null
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  for c in 0 1; do step 45 "decode A/B MLX_TS_COMPILE=$c" env MLX_TS_COMPILE=$c node bench/decode-kernels.mjs $m 256 --repeat 3; done
  # Kernels per decode token (ncu): 2 and 6 tokens of the 0.6B bf16 shape, MLX_TS_WARMUP=0 so the load adds none
  # (under ncu 2 tokens took 28 s and 6 took 49 s on an H100; 12 did not finish in 60 s).
  for n in 2 6; do step 100 "ncu $n tokens" env MLX_TS_WARMUP=0 ncu --csv --metrics gpu__time_duration.sum node bench/decode-kernels.mjs $m $n > /tmp/ncu-$n.csv; done
  node bench/decode-kernels.mjs --summarize /tmp/ncu-2.csv /tmp/ncu-6.csv 2 6 | tee "$OUT/decode-kernels.txt"
  for _ in $(seq 1 60); do pgrep -f "make-fixtures.py --gpu-shapes" > /dev/null || break; sleep 1; done
  cat /tmp/gpu-shapes.log
  step ${E2E_LIMIT:-140} "kernels end to end" node bench/kernels.mjs --rounds 1 --iters 5 --lengths 32768 --models test/.fixtures/models/qwen3-8b-shape-bf16 --runs 3 --gen 32
  cp bench/results/kernels.json "$OUT/kernels-e2e.json" 2>/dev/null
elif [ "$mode" = short ]; then
  # One call on a short lease: fixtures, the kernel microbench, then the GPU suite without the 64-shape
  # kernel grid (kernels.test.ts -t greedy), each under its own limit.
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  $py test/gpu/prewarm.py bfloat16,float32 > "$OUT/prewarm.txt" 2>&1 &
  warm=$!
  step 60 "test fixtures" $py scripts/make-fixtures.py
  (for m in qwen3-0.6b-shape-4bit qwen3-0.6b-shape-bf16; do $py scripts/make-fixtures.py --gpu-shapes --only $m; done > /tmp/gpu-shapes.log 2>&1) &
  gen=$!
  step ${MICRO_LIMIT:-90} "kernel microbench" node bench/kernels.mjs --rounds 3 --save-table
  cp bench/results/kernels.json "$OUT/kernels-micro.json" 2>/dev/null
  wait $warm $gen; tail -1 "$OUT/prewarm.txt"; cat /tmp/gpu-shapes.log
  step ${SUITE_LIMIT:-230} "vitest (GPU suite)" env MLX_TS_WARMUP=0 FORCE_COLOR=0 NO_COLOR=1 node node_modules/vitest/vitest.mjs run --config vitest.gpu.config.ts \
    -t "${SUITE_FILTER:-greedy|SIGTERM|session|mx namespace|mlx-lm|kernel on the GPU|real kernel}" \
    --reporter=verbose --reporter=json --outputFile.json="$OUT/vitest.json"
elif [ "$mode" = last ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  ($py scripts/make-fixtures.py > /tmp/fixtures.log 2>&1) &  # the tiny ones: the SIGTERM file's compile case
  step 60 "qwen3-0.6b-shape-bf16" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-bf16
  step ${FT_LIMIT:-100} "finetune" node bench/finetune.mjs --device gpu --model $m --iters ${FT_ITERS:-30} --runs 1
  cp bench/results/finetune.json "$OUT/finetune-gpu.json" 2>/dev/null
  gpu_file 50 kernels -t "shape-bf16"  # the greedy on/off check on the bf16 shape (run in float32)
  wait
  gpu_file 45 sigterm
  suite_summary
  step ${KV_LIMIT:-80} "kv cache at 32k" node bench/kv-cache.mjs --model $m --context 32768 --gen 32 --rounds 1 --group-size 64
  cp bench/results/kv-cache.json "$OUT/kv-cache-gpu.json" 2>/dev/null
  step 60 "batch" node bench/batch.mjs --device gpu --model $m --sizes 1,4,16,64 --gen 32 --skip-mlxlm --out "$OUT/batch-gpu-2.json"
  step 60 "batch, one prompt (no padding, no mask)" node bench/batch.mjs --device gpu --model $m --sizes 1,16,64 --gen 32 --skip-mlxlm --same-prompt --out "$OUT/batch-gpu-same.json"
elif [ "$mode" = final2 ]; then
  # LoRA training beside mlx-lm (log kept), batch 1-64 with distinct and with equal prompts (median of 3),
  # and what a process busy in a CUDA JIT compile is doing 10 s after SIGTERM.
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  ($py scripts/make-fixtures.py > /tmp/fixtures.log 2>&1) &
  step 60 "qwen3-0.6b-shape-bf16" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-bf16
  step ${FT_LIMIT:-150} "finetune" node bench/finetune.mjs --device gpu --model $m --iters ${FT_ITERS:-30} --runs 1
  cp bench/results/finetune.json "$OUT/finetune-gpu.json" 2>/dev/null
  step 100 "batch, distinct prompts" node bench/batch.mjs --device gpu --model $m --sizes 1,4,16,64 --gen 32 --runs 3 --skip-mlxlm --out "$OUT/batch-distinct.json"
  step 80 "batch, one prompt" node bench/batch.mjs --device gpu --model $m --sizes 1,16,64 --gen 32 --runs 3 --skip-mlxlm --same-prompt --out "$OUT/batch-same.json"
  wait
  empty=$(mktemp -d /tmp/probe-ptx-XXXX)
  probe_term compile env MLX_PTX_CACHE_DIR=$empty node test/gpu/busy-child.mjs compile test/.fixtures/models/qwen3-tiny-8bit
  rm -rf "$empty"
elif [ "$mode" = final3 ]; then
  # The batch decode kernel (decode_attention skipping each row's left padding): its GPU check, batch 1-64
  # with distinct prompts with it (default) and without (MLX_TS_KERNELS=off), and the KV-kinds batch file.
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  ($py scripts/make-fixtures.py > /tmp/fixtures.log 2>&1) &
  step 60 "qwen3-0.6b-shape-bf16" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-bf16
  gpu_file 90 kernels -t "batch of prompts|bf16 in float32"
  suite_summary
  step 60 "batch, distinct prompts, kernel on" node bench/batch.mjs --device gpu --model $m --sizes 1,4,16,64 --gen 32 --runs 3 --skip-mlxlm --out "$OUT/batch-kernel-on.json"
  step 60 "batch, distinct prompts, kernel off" env MLX_TS_KERNELS=off node bench/batch.mjs --device gpu --model $m --sizes 1,4,16,64 --gen 32 --runs 3 --skip-mlxlm --out "$OUT/batch-kernel-off.json"
  wait
  step 150 "batch KV kinds (integration file, tiny fixtures on the GPU)" env FORCE_COLOR=0 node node_modules/vitest/vitest.mjs run test/integration/batch-kv-kinds.test.ts
elif [ "$mode" = final4 ]; then
  # Batched rows of each KV-cache kind against alone (float32, up to near-ties), the batch kernel's check with
  # the 16-row rule, and the plain batch integration file on the GPU (bf16 tiny fixtures: exact on the CPU).
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  ($py scripts/make-fixtures.py > /tmp/fixtures.log 2>&1) &
  step 60 "qwen3-0.6b-shape-bf16" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-bf16
  gpu_file 150 batch
  gpu_file 60 kernels -t "batch of prompts"
  suite_summary
  wait
  step 90 "batch-engine (integration file, tiny fixtures on the GPU)" env FORCE_COLOR=0 NO_COLOR=1 node node_modules/vitest/vitest.mjs run test/integration/batch-engine.test.ts
elif [ "$mode" = s29 ]; then
  # LoRA training beside mlx-lm (3 alternating trials), SIGTERM in a JIT compile with the signal masks sampled
  # (guard on, then off), and the sigterm test file.
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  ($py scripts/make-fixtures.py > /tmp/fixtures.log 2>&1) &
  step 90 "qwen3-0.6b-shape-bf16" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-bf16
  wait; tail -2 /tmp/fixtures.log
  for g in ${PROBE_GUARDS:-1 0}; do
    empty=$(mktemp -d /tmp/probe-ptx-XXXX)
    probe_term_sampled compile-guard$g 3 env MLX_TS_SIGNAL_GUARD=$g MLX_PTX_CACHE_DIR=$empty node test/gpu/busy-child.mjs compile test/.fixtures/models/qwen3-tiny-8bit
    rm -rf "$empty"
  done
  gpu_file 100 sigterm
  suite_summary
  step ${FT_LIMIT:-300} "finetune" node bench/finetune.mjs --device gpu --model $m --iters 30 --runs ${FT_RUNS:-3}
  cp bench/results/finetune.json "$OUT/finetune-gpu.json" 2>/dev/null
  # the loss without the fused cross-entropy, for what it bought
  [ "${FT_NOCE:-1}" = 1 ] && step ${FT_LIMIT2:-120} "finetune, MLX_TS_TRAIN_FAST_CE=0" env MLX_TS_TRAIN_FAST_CE=0 node bench/finetune.mjs --device gpu --model $m --iters 30 --runs 1
  cp bench/results/finetune.json "$OUT/finetune-gpu-noce.json" 2>/dev/null
elif [ "$mode" = batch-profile ]; then
  # After `last` (the 0.6B bf16 shape is there): kernels per batched step at 1 and 16 rows (ncu, 2 and 6
  # steps each, the difference per step), then batches whose rows have a quantized or a rotating KV cache.
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  [ -d $m ] || step 60 "qwen3-0.6b-shape-bf16" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-bf16
  for rows in 1 16; do
    for n in 2 6; do step 80 "ncu batch $rows x $n" env MLX_TS_WARMUP=0 ncu --csv --metrics gpu__time_duration.sum node bench/decode-kernels.mjs $m $n --batch $rows > /tmp/ncu-b$rows-$n.csv; done
    node bench/decode-kernels.mjs --summarize /tmp/ncu-b$rows-2.csv /tmp/ncu-b$rows-6.csv 2 6 | tee "$OUT/batch-kernels-$rows.txt"
  done
  step 60 "batch, 8-bit KV" node bench/batch.mjs --device gpu --model $m --sizes 1,16,64 --gen 32 --skip-mlxlm --kv-bits 8 --out "$OUT/batch-gpu-kv8.json"
  step 60 "batch, 4-bit KV" node bench/batch.mjs --device gpu --model $m --sizes 1,16,64 --gen 32 --skip-mlxlm --kv-bits 4 --out "$OUT/batch-gpu-kv4.json"
  step 60 "batch, rotating KV" node bench/batch.mjs --device gpu --model $m --sizes 1,16,64 --gen 32 --skip-mlxlm --max-kv-size 256 --out "$OUT/batch-gpu-rot.json"
elif [ "$mode" = throughput ]; then
  # LoRA training beside mlx-lm, batch 1-64 beside mlx-lm's batch_generate, the KV-cache kinds at a 32k context.
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv
  step 90 "test fixtures" $py scripts/make-fixtures.py
  step 120 "qwen3-0.6b-shape-bf16" $py scripts/make-fixtures.py --gpu-shapes --only qwen3-0.6b-shape-bf16
  # The MoE checkpoint (about 17 GB) is written while the benches run; setsid keeps it going after this call.
  setsid nohup $py scripts/make-fixtures.py --moe-bench 4bit > /tmp/moe.log 2>&1 < /dev/null &
  m=test/.fixtures/models/qwen3-0.6b-shape-bf16
  step ${FT_LIMIT:-200} "finetune" node bench/finetune.mjs --device gpu --model $m --iters 50 --runs 3
  cp bench/results/finetune.json "$OUT/finetune-gpu.json" 2>/dev/null
  step ${BATCH_LIMIT:-150} "batch" node bench/batch.mjs --device gpu --model $m --sizes 1,4,16 --with-64 --gen 64 --out "$OUT/batch-gpu.json"
  step ${KV_LIMIT:-120} "kv cache at 32k" node bench/kv-cache.mjs --model $m --context 32768 --gen 64 --rounds 2 --group-size 64
  cp bench/results/kv-cache.json "$OUT/kv-cache-gpu.json" 2>/dev/null
  cat /tmp/moe.log
elif [ "$mode" = suite-moe ]; then
  # The suite's parity and kernel files (both changed since their last GPU run), then the MoE shape beside mlx-lm.
  [ -f .device/smollm2.part1 ] && cp .device/smollm2.part1 /tmp/smollm2.part1
  for f in kernels parity sigterm; do gpu_file ${FILE_LIMIT:-120} $f ${SUITE_FILTER:+-t "$SUITE_FILTER"}; done
  suite_summary
  for _ in $(seq 1 240); do pgrep -f "make-fixtures.py --moe-bench" > /dev/null || break; sleep 1; done
  cat /tmp/moe.log; df -h . | tail -1
  step ${MOE_LIMIT:-300} "MoE engine vs mlx-lm" node bench/engine-vs-mlxlm.mjs --device gpu --prompts 512 --gen 128 --runs 5 --models test/.fixtures/models/qwen3-30b-a3b-shape-4bit
  cp bench/results/engine-gpu.json "$OUT/engine-moe-gpu.json" 2>/dev/null
elif [ "$mode" = speculative ]; then
  # SmolLM2 (the GGUF we ship) as target and itself at 3 bits as draft, with and without the draft.
  cat /tmp/smollm2.part1 .device/smollm2.part2 > /tmp/smollm2.gguf && export MLX_TS_SMOLLM2=/tmp/smollm2.gguf
  step ${SPEC_LIMIT:-200} "speculative" node bench/speculative.mjs --draft-bits 3 --num-draft 2,3,4 --tokens 128 --runs 3
  cp bench/results/speculative.json "$OUT/speculative-gpu.json" 2>/dev/null
elif [ "$mode" = bench ]; then
  for _ in $(seq 1 240); do pgrep -f "make-fixtures.py --gpu-shapes" > /dev/null || break; sleep 1; done
  cat /tmp/gpu-shapes.log; df -h . | tail -1
  nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv
  step ${BENCH_LIMIT:-480} "engine vs mlx-lm (GPU)" node bench/engine-vs-mlxlm.mjs --device gpu --prompts 512,4096 --gen 128 --runs 5 ${BENCH_MODELS:+--models $BENCH_MODELS}
  cp bench/results/engine-gpu.json "$OUT/" 2>/dev/null
  nvidia-smi --query-gpu=name,clocks.sm,clocks.mem,temperature.gpu,power.draw --format=csv
fi
