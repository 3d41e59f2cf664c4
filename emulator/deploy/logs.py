"""A service's logs as get_logs returns them: the environment build's first, then each replica's, under
``===== title =====`` headings; with a tail, only the files' ends are read."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..runtimes.base import ReplicaHandle, ReplicaRuntime, read_log


def join_sections(sections: list[tuple[str, Callable[[int | None], str]]], tail_lines: int) -> str:
    """Logs under ``===== title =====`` headings, joined by newlines, cut to their last ``tail_lines``
    lines (0: all). Each reader returns its text, or only its last N lines when given N; with a tail
    the sections are read newest first, each only for the lines still missing."""
    def headed(title: str, text: str) -> str:
        return f"===== {title} =====\n{text}"

    if not tail_lines:
        return "\n".join(headed(title, read(None)) for title, read in sections)
    # Joined by "\n", each section but the last counts as its lines plus one line break.
    kept: list[str] = []
    for index in range(len(sections) - 1, -1, -1):
        title, read = sections[index]
        text = headed(title, read(tail_lines - len(kept)))
        kept[:0] = (text + ("\n" if index < len(sections) - 1 else "")).splitlines()
        if len(kept) >= tail_lines:
            break
    return "\n".join(kept[-tail_lines:])


def service_logs(folder: Path, runtime: ReplicaRuntime, live: dict[str, ReplicaHandle], tail_lines: int) -> str:
    """The logs in the service's ``folder`` (num_lines keeps the replicas' newest lines, as Azure's does);
    a running replica's (in ``live``) are asked of its runtime, which has the current output."""
    stems = {p.name.split(".log", 1)[0] for p in folder.glob("*.log*")}
    ordered = sorted(stems, key=lambda stem: (stem != "environment", stem))

    def section(stem: str) -> Callable[[int | None], str]:
        def read(tail: int | None) -> str:
            handle = live.get(stem)  # a container's file may lag its runtime
            return runtime.logs(handle, tail) if handle is not None else read_log(folder / f"{stem}.log", tail)
        return read

    return join_sections([("environment build" if stem == "environment" else f"replica {stem}", section(stem))
                          for stem in ordered], tail_lines)
