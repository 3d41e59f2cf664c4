"""Request schemas of the compute routes: the SDK's AKS create/update payload (aks_cluster_template)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field, StringConstraints

from ...validation import ArmTags, Body, Description, Query
from ..workspaces.schema import Location

# AKS: at most 1000 nodes in a node pool (Azure's documented AKS limit); AksCompute's agent_count is
# "a positive integer".
MAX_AGENT_COUNT = 1000
VmSize = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
ArmId = Annotated[str, StringConstraints(max_length=1024, pattern=r"^[^\x00-\x1f\x7f]*$")]
ShortName = Annotated[str, StringConstraints(max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")]


# A leaf domain label becomes <label><6 random characters>.<region>.cloudapp.azure.com: one DNS label
# (63 characters at most) with the six appended.
LeafDomainLabel = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9][A-Za-z0-9-]{0,56})?$")]
Pem = Annotated[str, StringConstraints(max_length=1024 * 1024)]


class SslConfiguration(Body):
    """``AksCompute`` ``enable_ssl``: Auto (a certificate for a leaf domain label), Enabled (cname, cert,
    key), Disabled."""

    status: Optional[Literal["Enabled", "Auto", "Disabled"]] = None
    cert: Optional[Pem] = None
    key: Optional[Pem] = None
    cname: Optional[Annotated[str, StringConstraints(max_length=253, pattern=r"^[^\x00-\x1f\x7f]*$")]] = None
    leafDomainLabel: Optional[LeafDomainLabel] = None
    overwriteExistingDomain: Optional[bool] = None
    renew: Optional[bool] = None


class AksProperties(Body):
    agentCount: Optional[Annotated[int, Field(ge=1, le=MAX_AGENT_COUNT)]] = None
    agentVmSize: Optional[VmSize] = None
    clusterPurpose: Optional[Literal["FastProd", "DevTest"]] = None
    # The SDK passes any load balancer type through (tests/parity); only its shape is checked.
    loadBalancerType: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    loadBalancerSubnet: Optional[ShortName] = None  # Azure subnet names: 1-80 characters
    sslConfiguration: Optional[SslConfiguration] = None
    aksNetworkingConfiguration: Optional[dict[str, Any]] = None


class ComputeProperties(Body):
    computeType: Optional[Annotated[str, StringConstraints(max_length=64)]] = None
    computeLocation: Optional[Location] = None
    description: Optional[Description] = None
    resourceId: Optional[ArmId] = None
    properties: Optional[AksProperties] = None


class ComputePut(Body):
    """``PUT .../computes/{name}``: create (or update) an AKS compute target."""

    location: Optional[Location] = None
    tags: Optional[ArmTags] = None
    properties: Optional[ComputeProperties] = None


class ComputeDeleteQuery(Query):
    underlyingResourceAction: Literal["delete", "detach"] = "delete"
