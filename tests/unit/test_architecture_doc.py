"""docs/architecture.md names every module of emulator/, fake_azure/ and scoring/, and no module that is gone.

The layout block is a tree: a line belongs to the nearest line above it that is indented less, and a
line whose first word ends in "/" opens that folder. A ``name.py`` written on a line names the module
at that path below the line's folder (``<kind>/`` stands for any one folder)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("emulator", "fake_azure", "scoring")
MENTION = re.compile(r"(?<![\w/.<>-])([\w<>-]+/)*[\w-]+\.py\b")


def _layout_block(text: str) -> list[str]:
    start = text.index("```\n") + 4
    return text[start:text.index("```", start)].splitlines()


def _mentions(lines: list[str]) -> set[str]:
    """Every module the block names, as a repository path (folders may be ``<kind>``)."""
    found: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, folder) of the lines above that are still open
    for line in lines:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        folder = stack[-1][1] if stack else ""
        first = line.split()[0]
        if first.endswith("/"):
            folder += first
        stack.append((indent, folder))
        for match in MENTION.finditer(line):
            found.add(folder + match.group(0))
    return found


def _named(module: str, mentions: set[str]) -> bool:
    return any(re.fullmatch(re.escape(m).replace(re.escape("<kind>"), "[^/]+"), module) for m in mentions)


def _modules() -> set[str]:
    return {p.relative_to(ROOT).as_posix() for package in PACKAGES for p in (ROOT / package).rglob("*.py")
            if p.name != "__init__.py" and "__pycache__" not in p.parts}


def test_every_module_is_named_in_the_architecture_doc() -> None:
    mentions = _mentions(_layout_block(DOC.read_text()))
    assert sorted(m for m in _modules() if not _named(m, mentions)) == []


def test_the_architecture_doc_names_no_module_that_is_gone() -> None:
    modules = _modules()
    mentions = _mentions(_layout_block(DOC.read_text()))
    assert sorted(m for m in mentions if not any(_named(module, {m}) for module in modules)) == []


def test_the_tree_reading_places_a_name_under_its_folder() -> None:
    lines = ["emulator/       the cloud",
             "  cli.py        the command",
             "  deploy/       the engine: engine.py (replicas),",
             "                supervisor.py and ../not a module",
             "  resources/<kind>/  service.py + api.py",
             "scoring/        the replica side, address.py"]
    assert _mentions(lines) == {"emulator/cli.py", "emulator/deploy/engine.py", "emulator/deploy/supervisor.py",
                                "emulator/resources/<kind>/service.py", "emulator/resources/<kind>/api.py",
                                "scoring/address.py"}
    assert _named("emulator/resources/models/api.py", _mentions(lines))
    assert not _named("emulator/resources/models/schema.py", _mentions(lines))
