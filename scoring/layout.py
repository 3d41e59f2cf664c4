"""Lay out a replica's app root exactly as Azure does, and compute the scoring env vars.

Azure mounts user code and models under ``/var/azureml-app`` (``AML_APP_ROOT``)::

    <app_root>/<source_dir basename>/...            (or just the entry script)
    <app_root>/azureml-models/<name>/<version>/<registered files>

and the scoring server plus ``Model.get_model_path`` resolve everything relative to that root.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

MODELS_DIRNAME = "azureml-models"
# The scoring server's own default when SCORING_TIMEOUT_MS is unset (facts §8.2).
DEFAULT_SCORING_TIMEOUT_MS = 3_600_000


class LayoutError(ValueError):
    """The inputs cannot be laid out (missing files, duplicate models, paths escaping the root)."""


@dataclass(frozen=True)
class ModelFiles:
    """One registered model version: ``files`` maps a path inside the version dir to a source file."""

    name: str
    version: int
    files: Mapping[str, str | os.PathLike[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class AppRoot:
    """A laid-out app root; paths in ``entry_script``/``model_dir`` are relative to ``path``."""

    path: Path
    entry_script: str
    source_directory: str | None
    model_dir: str

    def env(self, service_name: str, workspace_name: str,
            scoring_timeout_ms: int = DEFAULT_SCORING_TIMEOUT_MS) -> dict[str, str]:
        """The env vars Azure sets in a scoring container for this layout."""
        env = {
            "AML_APP_ROOT": str(self.path),
            # Relative, as documented and as LocalWebservice sets it; the runtime starts the
            # server with cwd = app root, where azmlinfsrv and user code resolve it.
            "AZUREML_MODEL_DIR": self.model_dir,
            "AZUREML_ENTRY_SCRIPT": self.entry_script,
            "SERVICE_NAME": service_name,
            "WORKSPACE_NAME": workspace_name,
            "SCORING_TIMEOUT_MS": str(int(scoring_timeout_ms)),
        }
        if self.source_directory is not None:
            env["AZUREML_SOURCE_DIRECTORY"] = self.source_directory
        return env


def _safe_join(root: Path, relpath: str) -> Path:
    target = (root / relpath).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise LayoutError(f"path {relpath!r} escapes {root}")
    return target


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.is_symlink():
        dst.unlink()  # re-laying out a root replaces files (and never copies a file onto itself)
    try:
        # Hard links make a 1 GB model free to lay out; they fail across filesystems.
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def model_dir_for(models: Iterable[ModelFiles]) -> str:
    """``azureml-models/<name>/<version>`` for exactly one model, else ``azureml-models``."""
    models = list(models)
    if len(models) == 1:
        return f"{MODELS_DIRNAME}/{models[0].name}/{models[0].version}"
    return MODELS_DIRNAME


def lay_out(app_root: str | os.PathLike[str], models: Iterable[ModelFiles], entry_script: str,
            source_directory: str | os.PathLike[str] | None = None) -> AppRoot:
    """Populate ``app_root`` (created if missing) and describe it.

    As in ``InferenceConfig``: with ``source_directory`` the entry script is relative to it and the
    whole directory is copied to ``<app_root>/<basename>``; without, the script alone is copied.
    """
    root = Path(app_root).absolute()
    root.mkdir(parents=True, exist_ok=True)
    models = list(models)
    seen: set[tuple[str, int]] = set()
    for model in models:
        key = (model.name, int(model.version))
        if key in seen:
            raise LayoutError(f"model {model.name}:{model.version} listed twice")
        seen.add(key)
        version_dir = root / MODELS_DIRNAME / model.name / str(int(model.version))
        version_dir.mkdir(parents=True, exist_ok=True)
        for relpath, source in model.files.items():
            src = Path(source)
            if not src.is_file():
                raise LayoutError(f"model file {src} does not exist")
            _link_or_copy(src, _safe_join(version_dir, relpath))
    (root / MODELS_DIRNAME).mkdir(exist_ok=True)

    if source_directory is not None:
        src_dir = Path(source_directory).absolute()
        if not src_dir.is_dir():
            raise LayoutError(f"source directory {src_dir} does not exist")
        if not (src_dir / entry_script).is_file():
            raise LayoutError(f"entry script {entry_script} not found in {src_dir}")
        name = src_dir.name
        shutil.copytree(src_dir, root / name, dirs_exist_ok=True)
        rel_entry = f"{name}/{Path(entry_script).as_posix()}"
        source_name: str | None = name
    else:
        script = Path(entry_script)
        if not script.is_file():
            raise LayoutError(f"entry script {script} does not exist")
        shutil.copy2(script, root / script.name)
        rel_entry = script.name
        source_name = None
    return AppRoot(path=root, entry_script=rel_entry, source_directory=source_name,
                   model_dir=model_dir_for(models))
