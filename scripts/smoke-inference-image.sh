#!/usr/bin/env bash
# Builds the GPU inference image (model-artifacts/server/Dockerfile) and smoke-tests it as SageMaker
# runs it: one container per model, the model directory mounted read-only at /opt/ml/model, the
# argument `serve`, MODEL_NAME and ORT_EXECUTION_PROVIDERS=cuda as the CDK model sets them
# (infra/constructs/model-endpoint.ts). Each must answer /ping and one invocation with outputs of
# the manifest's shape (scripts/smoke-inference.ts, the same check `npm test` runs on CPU).
#
# Needs: Docker with the NVIDIA container toolkit, an NVIDIA GPU whose driver runs CUDA 12.2 (the
# image's CUDA; SageMaker hosts get driver 535 from InferenceAmiVersion
# al2-ami-sagemaker-inference-gpu-2), internet for the build (npm, NVIDIA's apt repository, and
# onnxruntime-node's CUDA provider from NuGet), Node 22 and `npm ci` done in this checkout, and the
# model artifacts (npm run models). It cannot run on the development machines (no Docker, no GPU).
#
#   scripts/smoke-inference-image.sh                 # build, then test every model
#   SKIP_BUILD=1 IMAGE=my/image:tag scripts/smoke-inference-image.sh
#   PROVIDERS=cpu scripts/smoke-inference-image.sh   # the same image on CPU (serverless fusion's mode)
set -euo pipefail

cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-moderation-inference:smoke}"
PROVIDERS="${PROVIDERS:-cuda}"
MODELS_DIR="${MODELS_DIR:-model-artifacts/models}"
MODELS=(${MODELS:-text-toxicity image-nsfw fusion})
PORT_BASE="${PORT_BASE:-18080}"

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  docker build --platform linux/amd64 -f model-artifacts/server/Dockerfile -t "$IMAGE" .
fi

GPU_ARGS=()
[[ "$PROVIDERS" == cpu ]] || GPU_ARGS=(--gpus all)

containers=()
cleanup() {
  for id in "${containers[@]}"; do
    if [[ -n "${FAILED:-}" ]]; then
      echo "---- logs of $id ----" >&2
      docker logs "$id" >&2 || true
    fi
    docker rm -f "$id" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

i=0
for model in "${MODELS[@]}"; do
  port=$((PORT_BASE + i))
  i=$((i + 1))
  dir="$(pwd)/$MODELS_DIR/$model"
  [[ -f "$dir/manifest.json" ]] || { echo "no $dir/manifest.json: run npm run models" >&2; exit 1; }
  id=$(docker run -d "${GPU_ARGS[@]}" -p "127.0.0.1:$port:8080" \
    -v "$dir:/opt/ml/model:ro" \
    -e MODEL_NAME="$model" -e ORT_EXECUTION_PROVIDERS="$PROVIDERS" \
    "$IMAGE" serve)
  containers+=("$id")
  # SageMaker allows a few minutes for the first /ping; the model loads in seconds.
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$port/ping" >/dev/null 2>&1 && break
    if [[ "$(docker inspect -f '{{.State.Running}}' "$id")" != true ]]; then
      FAILED=1
      echo "$model: the container exited before /ping answered (CUDA or cuDNN missing? see its logs)" >&2
      exit 1
    fi
    sleep 2
  done
  if ! npx tsx scripts/smoke-inference.ts --url "http://127.0.0.1:$port" --manifest "$dir/manifest.json"; then
    FAILED=1
    exit 1
  fi
  if [[ "$PROVIDERS" != cpu ]] && docker logs "$id" 2>&1 | grep -q ORT_CPU_FALLBACK; then
    FAILED=1
    echo "$model: the server fell back to CPU" >&2
    exit 1
  fi
done
echo "inference image $IMAGE: /ping and one invocation of each of ${MODELS[*]} passed on $PROVIDERS"
