"""An AKS-like scoring front end (azureml-fe) for one emulated cluster.

``Gateway`` listens on loopback and routes ``/api/v1/service/<name>/score`` (and ``swagger.json``) to the
ready replicas of a service through an explicit handler chain (see ``chain.build_chain``).
"""
from __future__ import annotations

from .model import AuthPolicy, ReplicaEndpoint, ServiceRoute, ServiceStats
from .server import Gateway

__all__ = ["AuthPolicy", "Gateway", "ReplicaEndpoint", "ServiceRoute", "ServiceStats"]
