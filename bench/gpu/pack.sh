#!/usr/bin/env bash
# Packs what the GPU benchmark needs into .gpu/ (git-ignored) for a GPU machine that has PyTorch, CMake and a
# compiler but no .NET, no libvips and no network (the workplace's device machine; a CUDA dev container), as one
# archive, .gpu/gpu-bench.tar.xz:
#   bench/   Motif.Bench published self-contained for linux-x64 (framework trimmed; our assemblies whole), with
#            libvips.so.42 beside it: libvips with its dependencies linked in (the NetVips.Native.linux-x64 package)
#   deps/    nlohmann-json and OpenSSL headers, and libcrypto.so.3, for building the engine there
# Then bench/gpu/run.sh on that machine builds the engine against its PyTorch and runs the signing benchmark.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
say() { printf '\033[1mpack:\033[0m %s\n' "$*" >&2; }
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
rm -rf .gpu && mkdir -p .gpu
work="$(mktemp -d)"
mkdir -p "$work"/deps/include "$work"/deps/share/cmake "$work"/deps/lib
trap 'rm -rf "$work"' EXIT

say "publishing Motif.Bench (self-contained, linux-x64)"
dotnet publish bench/Motif.Bench -c Release -r linux-x64 --self-contained -p:PublishTrimmed=true -p:TrimMode=partial \
  -p:SuppressTrimAnalysisWarnings=true -p:TreatWarningsAsErrors=false -p:JsonSerializerIsReflectionEnabledByDefault=true \
  -p:UseSystemResourceKeys=false -o "$work/bench" >"$work/publish.log" 2>&1 ||
  { tail -20 "$work/publish.log"; exit 1; }
rm -f "$work"/bench/libmscordaccore.so "$work"/bench/libmscordbi.so "$work"/bench/*.pdb "$work"/bench/*.xml

say "fetching libvips (NetVips.Native.linux-x64)"
# Only here, for a machine without Debian's libvips: the product and the tests take the managed NetVips package alone
# and load Debian's libvips 8.14 (NetVips.Native's 8.18 has no JPEG 2000 loader; this benchmark decodes only JPEG).
# NetVips remaps its libvips, GLib and GObject imports to libvips.so.42 and looks in the application's directory
# first, so the copy placed beside the binary (GLib linked into it) is the one loaded there.
version=8.18.7
cat >"$work/vips.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework>
<ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
<ItemGroup><PackageReference Include="NetVips.Native.linux-x64" Version="$version" /></ItemGroup></Project>
XML
(cd "$work" && dotnet restore vips.csproj >/dev/null)
cp "${NUGET_PACKAGES:-$HOME/.nuget/packages}/netvips.native.linux-x64/$version/runtimes/linux-x64/native/libvips.so.42" "$work/bench/"

say "copying the engine's build dependencies"
cp -r /usr/include/nlohmann "$work/deps/include/"
cp -r /usr/share/cmake/nlohmann_json "$work/deps/share/cmake/"
cp -r /usr/include/openssl "$work/deps/include/"
cp /usr/include/x86_64-linux-gnu/openssl/*.h "$work/deps/include/openssl/"
cp -L /usr/lib/x86_64-linux-gnu/libcrypto.so.3 "$work/deps/lib/"
tar -C "$work" -cf - bench deps | xz -6 -T2 >.gpu/gpu-bench.tar.xz
du -sh .gpu
