"""What `fake-azure images` lists and `fake-azure prune` removes: built replica environments."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterable

from fake_azure.settings import Settings

from .base import RuntimeUnavailable

COMPLETE_MARKER = ".complete"


def _venvs(cache: Path) -> list[dict[str, Any]]:
    if not cache.is_dir():
        return []
    found = []
    for folder in sorted(p for p in cache.iterdir() if p.is_dir() and (p / COMPLETE_MARKER).exists()):
        python = next(iter(sorted((folder / "lib").glob("python3.*"))), None)
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
        found.append({"kind": "venv", "digest": folder.name, "reference": str(folder / "bin" / "python"),
                      "python": python.name.removeprefix("python") if python else None,
                      "size_mb": round(size / 1e6, 1), "path": str(folder)})
    return found


def _images(settings: Settings) -> list[dict[str, Any]]:
    from .select import docker_runtime

    try:
        runtime = docker_runtime(settings)
    except RuntimeUnavailable:
        return []
    return [{"kind": "image", **image, "size_mb": round((image.get("size") or 0) / 1e6, 1)}
            for image in runtime.list_images()]


def list_environments(settings: Settings) -> list[dict[str, Any]]:
    return _venvs(Path(settings.env_cache)) + _images(settings)


def _in_use(entry: dict[str, Any], references: Iterable[str]) -> bool:
    return any(entry["digest"] in reference for reference in references)


def prune(settings: Settings, in_use: Iterable[str]) -> list[str]:
    """Remove every built environment no live replica runs on; returns what was removed."""
    in_use = list(in_use)
    removed = []
    for venv in _venvs(Path(settings.env_cache)):
        if not _in_use(venv, in_use):
            shutil.rmtree(venv["path"], ignore_errors=True)
            log = Path(settings.env_cache) / f"{venv['digest']}.log"
            log.unlink(missing_ok=True)
            removed.append(f"venv {venv['digest']}")
    from .select import docker_runtime

    try:
        runtime = docker_runtime(settings)
    except RuntimeUnavailable:
        return removed
    keep = [image["digest"] for image in runtime.list_images() if _in_use(image, in_use)]
    removed += [f"image {tag}" for tag in runtime.prune_images(keep=keep)]
    return removed
