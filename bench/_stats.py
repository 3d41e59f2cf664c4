"""Figures shared by the benchmarks."""
from __future__ import annotations


def percentile(samples: list[float], q: float) -> float:
    """The sample at quantile ``q`` (0..1) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
