#!/usr/bin/env bash
# Runs the whole test suite and ends with one summary line: "N passed, N failed, N skipped".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# As ./motif runs the product: test assemblies run side by side on CI's two cores, and spinning OpenMP threads in one
# libtorch process would take the cores the others need (libgomp reads this when it is loaded).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
status=0
# --blame-hang-timeout: a native hang dumps and fails the run instead of eating CI's 90 minutes.
# Building the solution also builds the native engine and its GoogleTest suite (Motif.Engine.csproj).
dotnet test Serverless.sln -c Release --nologo --blame-hang-timeout 10m 2>&1 | tee "$log" || status=$?
# The native engine's own suite, through the C ABI only (gpu-worker/native/tests).
if [[ -f artifacts/native/CTestTestfile.cmake ]]; then
  ctest --test-dir artifacts/native --output-on-failure 2>&1 | tee -a "$log" || status=$?
else
  echo "the native engine was not built" | tee -a "$log"; status=1
fi
awk '/^(Passed|Failed)!/ {
       for (i = 1; i <= NF; i++) { gsub(",", "", $(i+1)); if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
       runs++ }
     /tests passed, [0-9]+ tests failed out of [0-9]+/ {
       for (i = 1; i <= NF; i++) if ($i == "failed") failed = $(i-2)
       f += failed; p += $NF - failed; runs++ }
     END { if (runs == 0) { print "no test ran"; exit 1 } printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log" || status=1
exit "$status"
