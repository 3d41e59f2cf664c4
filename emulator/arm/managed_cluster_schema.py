"""Request schema of the AKS managed-cluster routes (emulator/arm/managed_clusters_api.py): a ``ManagedCluster`` as
azure-mgmt-containerservice sends it, checked by emulator/validation.py before the handler runs. Fields not declared
here (networkProfile, linuxProfile, addonProfiles, ...) are accepted and echoed as given."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field, StringConstraints

from ..validation import ArmTags, Body
from .endpoint_schema import Location

# AKS's rules: cluster names 1-63 letters, digits, '-' and '_', starting and ending with a letter or digit; Linux
# agent pool names 1-12 lower-case letters and digits, starting with a letter; DNS prefixes 1-54 letters, digits
# and '-', starting and ending with a letter or digit.
ClusterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")]
PoolName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,11}$")]
DnsPrefix = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]([A-Za-z0-9-]{0,52}[A-Za-z0-9])?$")]
VmSizeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Short = Annotated[str, StringConstraints(max_length=90, pattern=r"^[^\x00-\x1f\x7f]*$")]


class AgentPoolProfile(Body):
    """One node pool: ``count`` nodes of ``vmSize`` (a size of the local catalog; unknown ones are refused)."""

    name: PoolName
    count: Optional[Annotated[int, Field(ge=0, le=1000)]] = None
    vmSize: Optional[VmSizeName] = None
    # Gateway, ManagedSystem and Machines pools are not emulated.
    mode: Optional[Literal["System", "User"]] = None


class ManagedClusterProperties(Body):
    agentPoolProfiles: Annotated[list[AgentPoolProfile], Field(min_length=1, max_length=100)]
    dnsPrefix: Optional[DnsPrefix] = None
    kubernetesVersion: Optional[Annotated[str, StringConstraints(max_length=32, pattern=r"^[0-9.]*$")]] = None
    nodeResourceGroup: Optional[Short] = None
    enableRBAC: Optional[bool] = None


class ManagedClusterPut(Body):
    """``PUT .../managedClusters/{name}``: create a cluster, or update one (its node pools, location and DNS prefix
    unchanged)."""

    location: Location
    tags: Optional[ArmTags] = None
    properties: ManagedClusterProperties
    # Objects in the REST API (sku name and tier; identity type): recorded and echoed, not acted on.
    sku: Optional[dict[str, Any]] = None
    identity: Optional[dict[str, Any]] = None
