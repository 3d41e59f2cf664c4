"""The autoscaling decision: up at once above target, down only after the delay, within bounds."""
from __future__ import annotations

from emulator.deploy.autoscaler import AutoscalePolicy, AutoscaleState, Sample, decide

POLICY = AutoscalePolicy(min_replicas=1, max_replicas=10, target_utilization=70, refresh_seconds=1,
                         scale_down_delay=60)


def run(samples: list[tuple[float, Sample]], policy: AutoscalePolicy = POLICY) -> list[tuple[float, int]]:
    state = AutoscaleState()
    decisions = []
    for now, sample in samples:
        target = decide(policy, state, now, sample)
        if target is not None:
            decisions.append((now, target))
    return decisions


def test_one_busy_moment_does_not_scale() -> None:
    samples = [(1.0, Sample(busy=1, replicas=1, queued=False))] + [
        (1.2 + 0.2 * i, Sample(busy=0, replicas=1, queued=False)) for i in range(10)]
    assert run(samples) == []


def test_full_utilisation_scales_up_within_a_refresh_period() -> None:
    samples = [(1.0 + 0.2 * i, Sample(busy=1, replicas=1, queued=False)) for i in range(6)]
    assert run(samples)[0] == (2.0, 2)


def test_queueing_counts_as_over_full() -> None:
    samples = [(1.0 + 0.2 * i, Sample(busy=2, replicas=2, queued=True)) for i in range(6)]
    assert run(samples)[0] == (2.0, 5)


def test_scale_up_respects_max_replicas() -> None:
    policy = AutoscalePolicy(1, 3, 70, 1, 60)
    samples = [(1.0 + 0.2 * i, Sample(busy=3, replicas=3, queued=True)) for i in range(6)]
    assert run(samples, policy) == []
    samples = [(1.0 + 0.5 * i, Sample(busy=2, replicas=2, queued=True)) for i in range(3)]
    assert run(samples, policy) == [(2.0, 3)]


def test_scale_down_waits_for_the_delay() -> None:
    samples = [(1.0 + t, Sample(busy=0, replicas=4, queued=False)) for t in range(0, 90)]
    decisions = run(samples)
    assert decisions and decisions[0][0] >= 61.0
    assert decisions[0][1] == 2  # halfway towards the minimum, not straight down


def test_steady_load_at_target_keeps_the_count() -> None:
    samples = [(1.0 + 0.5 * i, Sample(busy=2 if i % 3 else 1, replicas=3, queued=False)) for i in range(40)]
    assert run(samples) == []


def test_never_below_min_replicas() -> None:
    policy = AutoscalePolicy(2, 10, 70, 1, 5)
    samples = [(1.0 + t, Sample(busy=0, replicas=2, queued=False)) for t in range(30)]
    assert run(samples, policy) == []
