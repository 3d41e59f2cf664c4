#!/usr/bin/env bash
# `make gpu-check` for a GPU machine with no package index (the device tool's): installs fake-azure
# into that machine's python3 from the wheels in .whl/ (made here by scripts/device-wheels.sh; carry
# `.whl`), then runs scripts/gpu_check.py and keeps its report in $OUT/gpu-check.txt when $OUT is set.
# Arguments go to gpu_check.py (--rehearse-on-cpu rehearses the whole thing on a GPU-less host).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
report=${OUT:-${TMPDIR:-/tmp}}/gpu-check.txt
began=$(date +%s)
[ -d .whl ] || { echo "device-gpu-check: no .whl/ here: run scripts/device-wheels.sh and carry .whl" >&2; exit 2; }
"$PY" -m pip install -q --no-index --find-links .whl --no-compile "setuptools>=68" wheel
# No build isolation: it would fetch setuptools from an index this machine cannot reach.
"$PY" -m pip install -q --no-index --find-links .whl --no-compile --no-build-isolation .
echo "device-gpu-check: installed in $(( $(date +%s) - began ))s; $("$PY" --version), $(command -v "$PY")"
nvidia-smi -L 2>/dev/null || echo "device-gpu-check: nvidia-smi lists no GPU"
set +e
PYTHONUNBUFFERED=1 timeout 290 "$PY" scripts/gpu_check.py "$@" 2>&1 | tee "$report"
status=${PIPESTATUS[0]}
echo "device-gpu-check: exit $status after $(( $(date +%s) - began ))s (report: $report)"
exit "$status"
