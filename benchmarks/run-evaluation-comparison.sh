#!/usr/bin/env bash
# Builds the benchmarks, then times evaluation on 10,000 images, ours (PackedGemm, and MultiplyBlock as before it)
# against PyTorch's single-thread sgemm, interleaved in the same run on one pinned core, and prints one table.
# Arguments go to peer/evaluation.py (e.g. --rounds 6 --seconds 5 --cpu 1; keep the rounds even). Needs the .NET 10 SDK, Debian's
# python3-torch and libopenblas0-pthread (docs/performance.md).
source "$(dirname "$0")/build-benchmarks.sh"
"$python" benchmarks/peer/evaluation.py --ours "dotnet $bench" "$@"
