"""Replica runtimes: how a scoring replica process/container is started, stopped and observed."""
from .base import ReplicaHandle, ReplicaRuntime, ReplicaSpec, ReplicaStartFailed, RuntimeErrorBase, RuntimeUnavailable
from .process import ProcessRuntime

__all__ = ["ReplicaHandle", "ReplicaRuntime", "ReplicaSpec", "ReplicaStartFailed", "RuntimeErrorBase",
           "RuntimeUnavailable", "ProcessRuntime"]
