#!/usr/bin/env bash
# STS-B recipe on a CUDA GPU, fp32 then bf16: time, peak GPU memory, dev Spearman (bench/gpu_check.py says more).
# Run from the repo root after the README's set-up, on a machine with an Ampere-or-newer NVIDIA GPU and a CUDA torch.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/gpu_check.py "$@"
