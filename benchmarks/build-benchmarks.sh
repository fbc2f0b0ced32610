# Sourced by the run-*.sh drivers: builds the benchmarks (Release, into $PLASTICITY_BENCH_ARTIFACTS) from the
# repository root and sets $bench (the built PlasticityDsl.Benchmarks.dll) and $python ($PYTHON, or Debian's python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
artifacts=${PLASTICITY_BENCH_ARTIFACTS:-/tmp/plasticity-bench-artifacts}
python=${PYTHON:-/usr/bin/python3}
dotnet build benchmarks/PlasticityDsl.Benchmarks -c Release --artifacts-path "$artifacts" -nologo -v q >&2
bench="$artifacts/bin/PlasticityDsl.Benchmarks/release/PlasticityDsl.Benchmarks.dll"
