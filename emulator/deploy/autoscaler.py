"""AKS-style autoscaling of one service: utilisation = busy replicas / replicas, sampled often and
averaged over ``refreshPeriodInSeconds``; scale up at once when above the target, down only after
utilisation has stayed low for the scale-down delay (Azure: about a minute)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Sample:
    busy: int
    replicas: int
    queued: bool  # requests had to wait for a slot since the last sample


@dataclass
class AutoscalePolicy:
    min_replicas: int
    max_replicas: int
    target_utilization: float  # percent
    refresh_seconds: float
    scale_down_delay: float


@dataclass
class AutoscaleState:
    window: list[tuple[float, float]] = field(default_factory=list)  # (time, utilisation)
    low_since: float | None = None
    last_decision: float = 0.0


def utilisation(sample: Sample) -> float:
    if sample.replicas == 0:
        return 1.0 if sample.queued else 0.0
    value = sample.busy / sample.replicas
    # Waiting requests mean demand beyond what the replicas serve: count it as over-full.
    return value + (0.5 if sample.queued else 0.0)


def decide(policy: AutoscalePolicy, state: AutoscaleState, now: float, sample: Sample) -> int | None:
    """The replica count to move to, or None to stay. Call once per sample."""
    if not state.window:  # a decision needs a full refresh period of samples, not one busy moment
        state.last_decision = now
    state.window.append((now, utilisation(sample)))
    state.window = [(t, u) for t, u in state.window if now - t <= policy.refresh_seconds]
    if now - state.last_decision < policy.refresh_seconds:
        return None
    state.last_decision = now
    average = sum(u for _, u in state.window) / len(state.window)
    current = max(sample.replicas, 1)
    desired = math.ceil(current * average / (policy.target_utilization / 100.0)) if average > 0 else 0
    desired = max(policy.min_replicas, min(policy.max_replicas, desired))
    if desired > sample.replicas:
        state.low_since = None
        return desired
    if desired < sample.replicas:
        if state.low_since is None:
            state.low_since = now
        if now - state.low_since >= policy.scale_down_delay:
            state.low_since = None
            return max(desired, sample.replicas - (sample.replicas - desired + 1) // 2)  # halve the gap
        return None
    state.low_since = None
    return None


