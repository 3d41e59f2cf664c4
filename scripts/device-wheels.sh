#!/usr/bin/env bash
# Fetch, here, the wheels `scripts/device-gpu-check.sh` installs on a GPU machine that has no
# package index (Python 3.12 on x86-64 Linux by default): fake-azure's runtime dependencies and
# setuptools/wheel to build fake-azure itself. They land in .whl/ (git-ignored), about 14 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_VERSION=${DEVICE_PYTHON_VERSION:-3.12}
rm -rf .whl && mkdir -p .whl
# The runtime dependencies, read from pyproject.toml so this list cannot drift from it.
mapfile -t deps < <(python3 - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
PY
)
python3 -m pip download -q --only-binary=:all: --python-version "$PYTHON_VERSION" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d .whl "${deps[@]}" "setuptools>=68" wheel
echo "device-wheels: $(ls .whl | wc -l) wheels, $(du -sh .whl | cut -f1) in .whl/ for Python $PYTHON_VERSION"
