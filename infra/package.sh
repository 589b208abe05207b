#!/usr/bin/env bash
# `make package`: the deployment artefacts, built here without Azure or Docker, then the `az` commands that deploy them.
#   artifacts/package/motif-functions.zip   the Functions app for Flex Consumption (`dotnet publish` output at the
#                                           zip's root, host.json included), with libvips bundled (see below)
#   artifacts/package/main.json             main.bicep compiled to an ARM template (for tools without Bicep)
# The worker images are built in the cloud by `az acr build` from gpu-worker/Dockerfile (no local Docker needed).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '\033[1mpackage:\033[0m %s\n' "$*" >&2; }
as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

out="$root/artifacts/package"
app="$out/functions"
bicep="$root/.cache/bicep/bicep"
[[ -x "$bicep" ]] || { say "the Bicep CLI is missing: run make setup"; exit 1; }
command -v zip >/dev/null || { say "installing zip"; as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip >/dev/null; }
rm -rf "$out" && mkdir -p "$app"

say "publishing functions/Motif.Functions (Release)"
dotnet publish functions/Motif.Functions -c Release -o "$app" --nologo -v quiet >"$out/publish.log" 2>&1 ||
  { tail -30 "$out/publish.log"; exit 1; }
rm -f "$app"/*.pdb "$app"/local.settings*.json

# Flex Consumption runs on a managed Linux image without libvips, and takes no custom container. The package carries
# libvips.so.42 from NetVips.Native.linux-x64 (its dependencies, GLib and GObject included, are linked into it); .NET
# looks beside the app first, and our GLib/GObject imports must bind to that same copy (one GType system per process),
# so their names are links to it (zip -y keeps links). Its libvips has no JPEG 2000 loader: .jp2 uploads are quarantined
# as unsupported in Azure, unlike Debian's libvips locally.
vips_version=8.18.7
say "bundling libvips $vips_version (NuGet: NetVips.Native.linux-x64)"
bash infra/nuget-file.sh NetVips.Native.linux-x64 "$vips_version" runtimes/linux-x64/native/libvips.so.42 "$app/libvips.so.42"
ln -sf libvips.so.42 "$app/libglib-2.0.so.0"
ln -sf libvips.so.42 "$app/libgobject-2.0.so.0"

[[ -f "$app/host.json" && -f "$app/functions.metadata" && -f "$app/Motif.Functions.dll" ]] ||
  { say "the publish output lacks host.json, functions.metadata or Motif.Functions.dll"; exit 1; }
(cd "$app" && zip -q -r -y -X "$out/motif-functions.zip" .)

say "compiling main.bicep"
"$bicep" build main.bicep --outfile "$out/main.json"

size="$(du -h "$out/motif-functions.zip" | cut -f1)"
cat <<TEXT

  artifacts/package/motif-functions.zip ($size)   artifacts/package/main.json

Deploy (README, "Deploy to Azure"), with your names:
  group=motif-rg; location=swedencentral   # a region with serverless GPUs
  az group create -n \$group -l \$location
  # 1. the resources (no Event Grid subscription yet: it needs the app's code to answer its validation)
  az deployment group create -g \$group -f main.bicep -p name=motif gpuProfile=Consumption-GPU-NC8as-T4
  registry=\$(az deployment group show -g \$group -n main --query properties.outputs.registryName.value -o tsv)
  app=\$(az deployment group show -g \$group -n main --query properties.outputs.functionAppName.value -o tsv)
  # 2. the worker image, built in the registry from the repository (no local Docker)
  az acr build -r \$registry -t motif-worker:1 -f gpu-worker/Dockerfile .
  # 3. the Functions app's code
  az functionapp deployment source config-zip -g \$group -n \$app --src artifacts/package/motif-functions.zip
  # 4. the worker image and the upload subscription
  az deployment group create -g \$group -f main.bicep -p name=motif gpuProfile=Consumption-GPU-NC8as-T4 \\
      workerImage=\$registry.azurecr.io/motif-worker:1 subscribeUploads=true
TEXT
