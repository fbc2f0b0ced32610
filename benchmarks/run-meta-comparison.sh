#!/usr/bin/env bash
# Builds the benchmarks, then runs one meta-learning episode with its meta-gradient on both sides in the same run
# (ours: ReverseModeEpisode and ForwardModeEpisode; PyTorch: reverse-mode autograd through the unrolled episode,
# peer/meta_episode.py), each pinned to one core, interleaved in rounds, and prints one table (ms per episode, memory
# against the episode length, ratios). Arguments go to peer/compare_meta.py (e.g. --rounds 6 --forms reassoc,literal; keep the rounds even).
source "$(dirname "$0")/build-benchmarks.sh"
"$python" benchmarks/peer/compare_meta.py --ours "dotnet $bench" "$@"
