#!/usr/bin/env bash
# Builds the benchmarks, checks that the PyTorch peer computes the same online step as ours, then runs both sides
# on this machine in the same run and prints one table (samples/s and ratios). Arguments go to peer/compare.py
# (e.g. --rounds 6 --seconds 3, --blas reference; keep the rounds even). Needs the .NET 10 SDK and Debian's python3-torch
# (apt-get install python3-torch; libopenblas0-pthread gives PyTorch an optimized BLAS, see docs/performance.md).
source "$(dirname "$0")/build-benchmarks.sh"
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
dotnet "$bench" --peer-check "$check/weights.npz" >&2
"$python" benchmarks/peer/online_step.py --check "$check/weights.npz" | tail -n 1 >&2
"$python" benchmarks/peer/compare.py --ours "dotnet $bench" "$@"
