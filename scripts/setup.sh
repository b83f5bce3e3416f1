#!/usr/bin/env bash
# One-time set-up of a Debian 12 machine for attnc (idempotent), then the npm packages.
#  - Mesa lavapipe from bookworm-backports: a software Vulkan driver, so that WebGPU (Dawn)
#    runs without a GPU. Bookworm's own Mesa 22.3 is rejected by Dawn.
#  - Xvfb and the X/GL headers: headless-gl (WebGL through gpu.js) builds ANGLE at install
#    and needs an X display to create a context.
#  - Chromium: the browser tests run the same API on navigator.gpu and WebGL2 in a page.
# System packages need root: run as root, or have sudo. Without either, the packages are
# skipped with a note (attnc then falls back to the reference executor).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(xvfb xauth libxi-dev libglu1-mesa-dev libglew-dev pkg-config libx11-dev libxext-dev chromium)

missing=0
dpkg -s mesa-vulkan-drivers 2>/dev/null | grep -qE '^Version: (2[4-9]|[3-9][0-9])' || missing=1
for p in libvulkan1 "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing=1; done

if [ "$missing" = 1 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "setup: not root and no sudo: skipping system packages (lavapipe, Xvfb)" >&2; SUDO="skip"; fi
  if [ "$SUDO" != skip ]; then
    if [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
      printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        | $SUDO tee /etc/apt/sources.list.d/backports.sources >/dev/null
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1
    $SUDO apt-get install -y -q "${APT_PACKAGES[@]}"
  fi
fi

# npm ci builds `gl` (allowed in package.json's allowScripts) and, through `prepare`,
# compiles the TypeScript sources into dist/.
npm ci --no-audit --no-fund
