#!/usr/bin/env bash
# One-step setup for a fresh machine (the README's quick start and CI both run it): Debian's media
# tools when missing, then the npm dependencies from the lockfile (postinstall rebuilds the image
# model from the nsfwjs npm package).
set -euo pipefail
cd "$(dirname "$0")/.."

# onnxruntime-node's own install step would download CUDA providers from outside npm; the CPU
# binaries are already in the package.
export ONNXRUNTIME_NODE_INSTALL=skip

# Media tools from Debian (docs/MEDIA.md): ffmpeg decodes audio/video, pocketsphinx transcribes,
# flite speaks the test sentences, DejaVu fonts render the OCR test signs; chromium runs the review
# console's browser test (docs/CONSOLE.md) through playwright-core, which downloads no browser.
MEDIA_PACKAGES=(ffmpeg flite pocketsphinx pocketsphinx-en-us fonts-dejavu-core chromium)
if ! dpkg -s "${MEDIA_PACKAGES[@]}" >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MEDIA_PACKAGES[@]}"
  else
    echo "setup: audio/video and the console's browser test need these Debian packages (text, images and posts work without them):" >&2
    echo "  sudo apt-get install ${MEDIA_PACKAGES[*]}" >&2
  fi
fi

npm ci --no-audit --no-fund
