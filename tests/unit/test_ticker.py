"""The supervisor's and the autoscaler's loop (deploy/ticker.py): it ticks until stopped, and one tick's
error does not end it."""
from __future__ import annotations

import pytest
from polling import poll

from emulator.deploy.ticker import Ticker


def test_it_ticks_on_after_an_error_and_ends_when_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    ticks: list[int] = []

    def tick() -> None:
        ticks.append(len(ticks))
        if len(ticks) == 1:
            raise ValueError("one bad tick")

    ticker = Ticker("test-loop", tick)
    ticker.start(0.001)
    assert poll(lambda: len(ticks) >= 3, timeout=5), "the loop ended after its first tick's error"
    ticker.stop()
    ticker.join(5)
    assert not ticker.running
    assert "fake-azure: test-loop error: ValueError('one bad tick')" in capsys.readouterr().out
