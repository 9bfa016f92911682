#!/usr/bin/env bash
# Installs the Debian 12 packages taichu needs to build, test and run its demo.
# Dev-only extras (the PyTorch twin that regenerates golden files, benchmarks against PyTorch):
#   scripts/install-deps.sh --dev
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libopenblas-dev libomp-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev
      libsndfile1-dev libsamplerate0-dev libfftw3-dev libutf8proc-dev libcjson-dev
      libopenmpi-dev openmpi-bin espeak-ng libespeak-ng-dev)
# The report test opens the demo's report.html in headless Chromium.
if [ "${1:-}" = "--dev" ] || [ "${TAICHU_INSTALL_CHROMIUM:-0}" = "1" ]; then
  PKGS+=(chromium)
fi
if [ "${1:-}" = "--dev" ]; then
  PKGS+=(python3-torch python3-numpy python3-opencv python3-pil python3-torchaudio python3-skimage fortunes-zh)
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
