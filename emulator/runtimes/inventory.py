"""What `fake-azure images` lists and `fake-azure prune` removes: built replica environments."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable

from emulator.environments.builder import EnvironmentBuilder
from emulator.settings import DaemonSettings

from .base import RuntimeUnavailable


def _venvs(cache: Path, sizes: bool = True) -> list[dict[str, Any]]:
    """The built venvs of ``cache`` (the environment builder's layout); ``sizes``: add each one's
    size, which walks all its files (only a listing shows it)."""
    if not cache.is_dir():
        return []
    builder = EnvironmentBuilder(cache, reuse_host=False)
    found = []
    for folder in sorted(p for p in cache.iterdir() if p.is_dir() and builder.is_built(p.name)):
        python = next(iter(sorted((folder / "lib").glob("python3.*"))), None)
        entry: dict[str, Any] = {
            "kind": "venv", "digest": folder.name, "reference": str(folder / "bin" / "python"),
            "python": python.name.removeprefix("python") if python else None}
        if sizes:
            size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
            entry["size_mb"] = round(size / 1e6, 1)
        entry["path"] = str(folder)
        found.append(entry)
    return found


def _images(settings: DaemonSettings) -> list[dict[str, Any]]:
    from .select import docker_runtime

    try:
        runtime = docker_runtime(settings)
    except RuntimeUnavailable:
        return []
    return [{"kind": "image", **image, "size_mb": round((image.get("size") or 0) / 1e6, 1)}
            for image in runtime.list_images()]


def list_environments(settings: DaemonSettings) -> list[dict[str, Any]]:
    return _venvs(Path(settings.env_cache)) + _images(settings)


def is_in_use(entry: dict[str, Any], references: Iterable[str]) -> bool:
    """Whether a listed environment is what one of ``references`` (the daemon's environments in use) runs on."""
    return any(entry["digest"] in reference for reference in references)


def prune(settings: DaemonSettings, in_use: Iterable[str]) -> list[str]:
    """Remove every built environment no live replica runs on; returns what was removed."""
    in_use = list(in_use)
    cache = Path(settings.env_cache)
    builder = EnvironmentBuilder(cache, reuse_host=False)
    removed = []
    kept_venvs = []
    for venv in _venvs(cache, sizes=False):
        if is_in_use(venv, in_use):
            kept_venvs.append(venv["digest"])
            continue
        shutil.rmtree(venv["path"], ignore_errors=True)
        builder.log_path(venv["digest"]).unlink(missing_ok=True)
        removed.append(f"venv {venv['digest']}")
    from .select import docker_runtime

    try:
        runtime = docker_runtime(settings)
    except RuntimeUnavailable:
        return removed
    # prune_images takes the in-use references as they are (image tags: fake-azure-env:<digest>; an
    # interpreter path names no image); an in-use venv's digest also keeps the same environment's image.
    keep = in_use + kept_venvs
    removed += [f"image {tag}" for tag in runtime.prune_images(keep=keep)]
    return removed
