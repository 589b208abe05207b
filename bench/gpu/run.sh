#!/usr/bin/env bash
# On a GPU machine with PyTorch, CMake and a compiler (the CUDA image's python3), from the repository root, after
# bench/gpu/pack.sh has written .gpu/ here: builds the signature engine against that PyTorch's libtorch (CUDA) by
# the project's CMake, then runs `motif_engine_bench` and the signing benchmark on the GPU. Everything it prints is
# also written to $OUT (default .gpu/out).
#   bench/gpu/run.sh [--images 12000] [--batch 256] [--skip-build]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
images=12000 batch=256 build=1
while (($#)); do
  case "$1" in
    --images) images="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --skip-build) build=0; shift ;;
    *) echo "run.sh: unknown option $1 (--images N, --batch N, --skip-build)" >&2; exit 2 ;;
  esac
done
python="${PYTHON:-python3}"
out="${OUT:-$root/.gpu/out}"
stage=/tmp/motif-gpu
mkdir -p "$out" "$stage"
say() { printf '== %s\n' "$*" | tee -a "$out/run.log" >&2; }
[[ -f .gpu/gpu-bench.tar.xz ]] || { echo "run.sh: no .gpu/gpu-bench.tar.xz: run bench/gpu/pack.sh first (on the build machine)" >&2; exit 1; }

say "unpacking"
"$python" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .gpu/gpu-bench.tar.xz "$stage"
bench="$stage/bench"
# libvips.so.42 carries GLib and GObject inside it: our GLib/GObject imports must bind to that copy, not to a
# system GLib (two type systems in one process), so their names point at it.
ln -sf libvips.so.42 "$bench/libglib-2.0.so.0"
ln -sf libvips.so.42 "$bench/libgobject-2.0.so.0"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$out/run.log"
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' | tee -a "$out/run.log"
nproc | sed 's/^/cores: /' | tee -a "$out/run.log"

# The project's CMake build against PyTorch's libtorch.
build_cmake() {
  local prefix
  prefix="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
  cmake -S gpu-worker/native -B "$stage/native" -DCMAKE_BUILD_TYPE=Release -DMOTIF_BUILD_TESTS=OFF \
    -DCMAKE_PREFIX_PATH="$prefix;$stage/deps" -DOPENSSL_INCLUDE_DIR="$stage/deps/include" -DOPENSSL_CRYPTO_LIBRARY="$crypto" \
    >"$out/cmake.log" 2>&1 || { tail -30 "$out/cmake.log"; return 1; }
  cmake --build "$stage/native" -j"$(nproc)" >>"$out/cmake.log" 2>&1 || { grep -m20 -B2 -A8 'error' "$out/cmake.log"; return 1; }
}

# The same sources compiled by hand, where TorchConfig.cmake cannot configure (it looks for CUDA's own toolkit
# pieces that a wheel's libtorch does not need for linking).
build_direct() {
  local torch abi flags
  torch="$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')"
  abi="$("$python" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')"
  flags="-O2 -std=c++20 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -DMOTIF_BUILDING -D_GLIBCXX_USE_CXX11_ABI=$abi
    -Igpu-worker/native/include -Igpu-worker/native/src -I$torch/include -I$torch/include/torch/csrc/api/include -I$stage/deps/include"
  rm -rf "$stage/native" && mkdir -p "$stage/native"
  # shellcheck disable=SC2086
  printf '%s\n' c_api engine model util | xargs -P4 -I{} g++ $flags -c gpu-worker/native/src/{}.cpp -o "$stage/native/{}.o" \
    2>"$out/direct.log" || { grep -m20 -A8 'error' "$out/direct.log"; return 1; }
  g++ -shared -o "$stage/native/libmotif_engine.so" "$stage"/native/*.o -L"$torch/lib" -Wl,--no-as-needed -ltorch_cuda -lc10_cuda \
    -Wl,--as-needed -ltorch -ltorch_cpu -lc10 "$crypto" -Wl,-rpath,"$torch/lib" -Wl,--version-script=gpu-worker/native/src/exports.map
  g++ -O2 -std=c++17 gpu-worker/native/tools/bench.cpp -Igpu-worker/native/include -o "$stage/native/motif_engine_bench" \
    -L"$stage/native" -lmotif_engine -Wl,-rpath,"$stage/native"
}

if ((build)); then
  say "building the engine against PyTorch's libtorch"
  crypto="$(ldconfig -p | awk '/libcrypto\.so\.3 .*x86-64/ {print $NF; exit}')"
  crypto="${crypto:-$stage/deps/lib/libcrypto.so.3}"
  start=$SECONDS
  if build_cmake; then
    say "built by CMake in $((SECONDS - start)) s"
  else
    say "CMake could not build it; compiling the same sources directly"
    build_direct
    say "built directly in $((SECONDS - start)) s"
  fi
  cp "$stage/native/libmotif_engine.so" "$bench/libmotif_engine.so"
fi

export GLIBC_TUNABLES=glibc.malloc.hugetlb=1
say "raw forward pass, engine (C ABI) and PyTorch, bf16 + channels-last"
for b in 64 128 256 512; do
  "$stage/native/motif_engine_bench" --device cuda --precision bf16 --batch "$b" --threads 4 --iters 20 --train-iters 0 | tee -a "$out/engine.jsonl"
  "$python" gpu-worker/native/tools/bench_pytorch.py --device cuda --bf16 --batch "$b" --threads 4 --iters 20 --train-iters 0 | tee -a "$out/engine.jsonl"
done

say "decode + preprocess scaling, Motif (threads) against PIL (processes)"
"$bench/Motif.Bench" imaging --threads "$(nproc)" --python "$python" 2>&1 | tee "$out/imaging.txt"

say "signing loop: $images images, batch $batch"
"$bench/Motif.Bench" signing --device cuda --precision bf16 --batch "$batch" --threads "$(nproc)" --images "$images" \
  --upload-side 512 --prepared-batches 2 --python "$python" 2>&1 | tee "$out/signing.txt"
