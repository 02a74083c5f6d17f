#!/usr/bin/env bash
# The GPU figures in one go, within 8 minutes, every figure printed:
#   - predictor benchmark (images/s, app/bare ratio) in fp32 and fp16 for six models, random weights
#   - GPU memory returning after model switches
#   - training throughput with AMP against the bare fp32 loop
#   - the gpu-marked tests (pytest -m gpu)
#
#   tests/benchmarks/gpu_suite.sh                    # on a CUDA machine
#   tests/benchmarks/gpu_suite.sh --device cpu --tiny  # the same steps at a tiny setting (checks the script)
set -u
cd "$(dirname "$0")/../.." || exit 1
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
DEVICE=cuda
TINY=0
BUDGET=${GPU_SUITE_SECONDS:-470}
while [ $# -gt 0 ]; do
    case "$1" in
        --device) DEVICE=$2; shift 2 ;;
        --tiny) TINY=1; shift ;;
        *) echo "usage: $0 [--device cuda|cpu] [--tiny]" >&2; exit 2 ;;
    esac
done
export PYTHONUNBUFFERED=1 QT_QPA_PLATFORM=offscreen
START=$SECONDS
SUMMARY=()

if [ "$DEVICE" = cuda ] && ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "no CUDA device here: nothing measured (run with --device cpu --tiny to check the script)"
    exit 1
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda,
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"

# step NAME LIMIT_SECONDS COMMAND...: runs within what is left of the budget, prints its output
step() {
    local name=$1 limit=$2 left rc t0
    shift 2
    left=$((BUDGET - (SECONDS - START) - 5))
    if [ "$left" -le 5 ]; then
        SUMMARY+=("$name: not run (suite budget of ${BUDGET}s spent)")
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo
    echo "=== $name (limit ${limit}s)"
    t0=$SECONDS
    timeout --kill-after=5 "$limit" "$@"
    rc=$?
    SUMMARY+=("$name: rc $rc, $((SECONDS - t0))s$([ $rc -eq 124 ] && echo ' (timed out)')")
}

MODELS="fasterrcnn_resnet50_fpn_v2 retinanet_resnet50_fpn_v2 fcos_resnet50_fpn ssdlite320_mobilenet_v3_large
maskrcnn_resnet50_fpn_v2 deeplabv3_resnet50"
SWITCH="fasterrcnn_resnet50_fpn_v2 maskrcnn_resnet50_fpn_v2 deeplabv3_resnet50 ssdlite320_mobilenet_v3_large"
if [ $TINY -eq 1 ]; then  # a check that every step runs, on a CPU: no figure here means anything
    PRED_ARGS=(--images 2 --batch 1 --repeats 1 --size 96x64 --min-size 64 --max-size 96)
    TRAIN_ARGS=(--model fasterrcnn_mobilenet_v3_large_320_fpn --iters 4 --rounds 1 --batch 2)
    SWITCH="ssdlite320_mobilenet_v3_large lraspp_mobilenet_v3_large"
    PRED_LIMIT=300 OTHER_LIMIT=300
    BUDGET=${GPU_SUITE_SECONDS:-3600}
else
    PRED_ARGS=(--images 32 --batch 8 --repeats 3 --size 640x480)
    TRAIN_ARGS=(--iters 25 --rounds 2 --batch 8)
    PRED_LIMIT=40 OTHER_LIMIT=120
fi

for model in $MODELS; do
    for precision in fp32 fp16; do
        if [ "$precision" = fp16 ] && [ "$DEVICE" != cuda ]; then
            SUMMARY+=("predictor $model fp16: skipped (fp16 needs CUDA)")
            continue
        fi
        flag=()
        [ "$precision" = fp16 ] && flag=(--fp16)
        step "predictor $model $precision" $PRED_LIMIT \
            "$PY" tests/benchmarks/bench_predictor.py --model "$model" --device "$DEVICE" "${flag[@]}" "${PRED_ARGS[@]}"
    done
done

# shellcheck disable=SC2086
step "GPU memory after model switches" $OTHER_LIMIT "$PY" tests/benchmarks/bench_predictor.py --device "$DEVICE" --switch $SWITCH

AMP=--amp
[ "$DEVICE" != cuda ] && AMP=--no-amp
step "training throughput, app ($AMP) against the bare fp32 loop" $OTHER_LIMIT \
    "$PY" tests/benchmarks/bench_training.py throughput --device "$DEVICE" $AMP "${TRAIN_ARGS[@]}"

step "pytest -m gpu" $OTHER_LIMIT "$PY" -m pytest -p no:cacheprovider -q -m gpu tests

echo
echo "=== summary ($((SECONDS - START))s of ${BUDGET}s)"
printf '%s\n' "${SUMMARY[@]}"
