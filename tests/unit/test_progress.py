"""ProgressPolicy: parsing the FAKE_AZURE_PROGRESS / admin-API text and deciding when an operation is done."""
from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from emulator.progress import ProgressPolicy, ProgressPolicyError


@pytest.mark.parametrize("text, kind, amount", [
    ("immediate", "immediate", 0),
    ("  Immediate\n", "immediate", 0),
    ("polls:0", "polls", 0),
    ("polls:3", "polls", 3),
    ("POLLS:3", "polls", 3),
    ("polls:3.0", "polls", 3),
    ("polls:1e2", "polls", 100),
    ("seconds:0", "seconds", 0),
    ("seconds:2", "seconds", 2),
    ("seconds:0.25", "seconds", 0.25),
])
def test_parse_valid(text: str, kind: str, amount: float) -> None:
    policy = ProgressPolicy.parse(text)
    assert policy == ProgressPolicy(kind, amount)


@pytest.mark.parametrize("text", [
    "", "   ", "immediately", "polls", "polls:", "polls:-1", "polls:1.5", "polls:abc", "polls:nan",
    "seconds", "seconds:", "seconds:-0.1", "seconds:x", "minutes:2", ":3", "polls;3", "immediate:1",
    "polls:inf", "seconds:inf", "seconds:-inf", "seconds:nan",
])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(ProgressPolicyError) as info:
        ProgressPolicy.parse(text)
    assert str(info.value) == (f"progress policy {text!r} is not one of 'immediate', 'polls:N' (N >= 0), "
                               "'seconds:S' (S >= 0)")


def test_progress_policy_error_is_a_value_error() -> None:
    assert issubclass(ProgressPolicyError, ValueError)


@pytest.mark.parametrize("text, rendered", [
    ("immediate", "immediate"), ("polls:3", "polls:3"), ("polls:3.0", "polls:3"), ("seconds:2", "seconds:2.0"),
    ("seconds:0.5", "seconds:0.5"),
])
def test_str(text: str, rendered: str) -> None:
    assert str(ProgressPolicy.parse(text)) == rendered


@pytest.mark.parametrize("text", ["immediate", "polls:0", "polls:7", "seconds:0", "seconds:1.25"])
def test_str_round_trips(text: str) -> None:
    policy = ProgressPolicy.parse(text)
    assert ProgressPolicy.parse(str(policy)) == policy


def test_immediate_is_done_on_the_first_poll() -> None:
    policy = ProgressPolicy.parse("immediate")
    assert policy.is_done(1, 0.0)
    assert policy.is_done(0, 0.0)


def test_polls_three_means_three_running_polls_then_done() -> None:
    policy = ProgressPolicy.parse("polls:3")
    assert [policy.is_done(n, 1e9) for n in range(1, 6)] == [False, False, False, True, True]


def test_polls_zero_is_done_on_the_first_poll() -> None:
    policy = ProgressPolicy.parse("polls:0")
    assert policy.is_done(1, 0.0)


def test_polls_ignores_elapsed_time() -> None:
    policy = ProgressPolicy.parse("polls:2")
    assert not policy.is_done(1, 10_000.0)


def test_seconds_depends_only_on_elapsed_time() -> None:
    policy = ProgressPolicy.parse("seconds:2")
    assert not policy.is_done(1000, 1.999)
    assert policy.is_done(1, 2.0)
    assert policy.is_done(1, 2.5)


def test_seconds_zero_is_done_at_once() -> None:
    assert ProgressPolicy.parse("seconds:0").is_done(1, 0.0)


def test_policy_is_frozen_and_hashable() -> None:
    policy = ProgressPolicy.parse("polls:2")
    assert hash(policy) == hash(ProgressPolicy("polls", 2))
    with pytest.raises(FrozenInstanceError):
        policy.amount = 5  # type: ignore[misc]  # writing a frozen field is what is tested
