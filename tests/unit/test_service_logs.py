"""get_logs' assembly: a tail read section by section from the end equals the whole cut to its tail."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from emulator.deploy.logs import join_sections
from emulator.runtimes.base import read_log


def _naive(texts: list[tuple[str, str]], tail_lines: int) -> str:
    """What get_logs returned before it read tails: every text whole, then the last lines of all."""
    content = "\n".join(f"===== {title} =====\n{text}" for title, text in texts)
    lines = content.splitlines()
    return "\n".join(lines[-tail_lines:]) if tail_lines else content


@pytest.mark.parametrize("seed", range(40))
def test_a_tail_read_from_the_end_matches_the_whole_cut(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    texts = []
    for index in range(rng.randint(1, 4)):
        lines = [rng.choice(["", "a", "bb", "line %d" % i, "cr\rmid"]) for i in range(rng.randint(0, 12))]
        text = "\n".join(lines) + rng.choice(["", "\n", "\n\n"])
        (tmp_path / f"s{index}.log").write_text(text, newline="")
        texts.append((f"replica s{index}", text))
    reads: list[int | None] = []

    def reader(path: Path):
        def read(tail: int | None) -> str:
            reads.append(tail)
            return read_log(path, tail)
        return read

    sections = [(title, reader(tmp_path / f"s{i}.log")) for i, (title, _) in enumerate(texts)]
    for tail in (0, 1, 2, 3, 5, 8, 50):
        reads.clear()
        assert join_sections(sections, tail) == _naive(texts, tail), (tail, texts)
        if tail:
            assert None not in reads  # never a whole log when a tail is asked for
