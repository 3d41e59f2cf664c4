"""How fast emulated long-running operations finish: immediately, after N polls, or after N seconds.

Tests keep the default (immediate) and never sleep; a test of a user's polling loop can ask for
``polls:3``: the operation ends on the fourth read of it or of its resource.
"""
from __future__ import annotations

from dataclasses import dataclass


class ProgressPolicyError(ValueError):
    pass


@dataclass(frozen=True)
class ProgressPolicy:
    kind: str  # "immediate" | "polls" | "seconds"
    amount: float = 0

    @classmethod
    def parse(cls, text: str) -> "ProgressPolicy":
        spec = text.strip().lower()
        if spec == "immediate":
            return cls("immediate")
        kind, sep, number = spec.partition(":")
        if sep and kind in ("polls", "seconds"):
            try:
                amount = float(number)
            except ValueError:
                amount = -1
            finite = amount == amount and amount not in (float("inf"), float("-inf"))
            if finite and amount >= 0 and (kind == "seconds" or amount == int(amount)):
                return cls(kind, amount)
        raise ProgressPolicyError(
            f"progress policy {text!r} is not one of 'immediate', 'polls:N' (N >= 0), 'seconds:S' (S >= 0)"
        )

    def __str__(self) -> str:
        if self.kind == "immediate":
            return "immediate"
        amount = int(self.amount) if self.kind == "polls" else self.amount
        return f"{self.kind}:{amount}"

    def is_done(self, polls_seen: int, elapsed_seconds: float) -> bool:
        """Whether an operation polled ``polls_seen`` times (this poll included) has finished."""
        if self.kind == "immediate":
            return True
        if self.kind == "polls":
            return polls_seen > self.amount
        return elapsed_seconds >= self.amount

    def seconds_until_done(self, elapsed_seconds: float) -> float | None:
        """How long until time alone finishes an operation (``seconds:S``); None when time does not."""
        return max(0.0, self.amount - elapsed_seconds) if self.kind == "seconds" else None
