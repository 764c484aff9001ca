#!/usr/bin/env bash
# Builds the media function's container image (functions/media/Dockerfile) and checks it inside:
# the tools the handler runs (ffmpeg, ffprobe, pocketsphinx_continuous and its en-us model), and
# that the bundled handler loads, as the Lambda runtime interface client would load it.
#
# Needs Docker (buildx/QEMU for linux/arm64 on an x86_64 host) and internet for the build (npm,
# Debian). It cannot run on the development machines (no Docker). For a full invocation, run the
# image under the Lambda runtime interface emulator with the stack's environment.
#
#   scripts/smoke-media-image.sh                       # linux/arm64, the stack's default
#   PLATFORM=linux/amd64 scripts/smoke-media-image.sh  # lambda.architecture x86_64
set -euo pipefail

cd "$(dirname "$0")/.."
IMAGE="${IMAGE:-moderation-media:smoke}"
PLATFORM="${PLATFORM:-linux/arm64}"

docker build --platform "$PLATFORM" -f functions/media/Dockerfile -t "$IMAGE" .

run() { docker run --rm --platform "$PLATFORM" --entrypoint "$1" "$IMAGE" "${@:2}"; }
run ffmpeg -hide_banner -version | head -n 1
run ffprobe -hide_banner -version | head -n 1
run sh -c 'command -v pocketsphinx_continuous && test -f /usr/share/pocketsphinx/model/en-us/en-us.lm.bin'
# The handler module loads (its configuration is read at load: give it the minimum it needs).
run node -e "process.env.TABLE_NAME='smoke'; import('/var/task/index.mjs').then((m) => { if (typeof m.handler !== 'function') throw new Error('no handler export'); console.log('handler loads'); })"
run sh -c 'test -x /opt/ric/node_modules/.bin/aws-lambda-ric && echo "runtime interface client present"'
echo "media image $IMAGE ($PLATFORM): tools and handler present"
