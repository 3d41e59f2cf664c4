"""The catalog of Azure error payloads the local cloud sends: one constructor per error, used alike for
an operation's ``error`` (what ``wait_for_deployment`` and ``provisioning_errors`` show) and for an HTTP
body (``{"error": ...}``, through :meth:`emulator.errors.EmulatorError.of`). Texts are Azure's where
Azure has one (docs/parity.md says where ours differ)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class AzureError:
    """Azure's error object: ``code``, ``statusCode`` (absent on some operation errors), ``message``, ``details``."""

    code: str
    message: str
    status_code: int | None = None
    details: tuple[Mapping[str, str], ...] = ()

    def payload(self) -> dict[str, Any]:
        """The error object, as an operation's ``error`` and inside the HTTP envelope."""
        error: dict[str, Any] = {"code": self.code}
        if self.status_code is not None:
            error["statusCode"] = self.status_code
        error["message"] = self.message
        if self.details:
            error["details"] = [dict(detail) for detail in self.details]
        return error

    def envelope(self) -> dict[str, Any]:
        """The HTTP body: ``{"error": payload}``."""
        return {"error": self.payload()}


# --- HTTP refusals before a route runs (the web server's, the framework's) -----------------------------

# The error code per HTTP status for refusals that carry no code of their own.
HTTP_STATUS_CODES = {400: "BadRequest", 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge",
                     431: "RequestHeaderFieldsTooLarge", 500: "InternalServerError", 501: "NotImplemented"}


def http_refusal(status: int, message: str, default_code: str) -> AzureError:
    """A refusal named by its HTTP status alone (``default_code`` for a status the table lacks)."""
    return AzureError(HTTP_STATUS_CODES.get(status, default_code), message, status)


def invalid_field(target: str, message: str) -> dict[str, str]:
    """One ``details`` entry of a 400 for a request field that fails its schema."""
    return {"code": "InvalidField", "target": target, "message": f"{target}: {message}"}


# --- services ----------------------------------------------------------------------------------------

SCHEDULE_FAILED = ("Couldn't schedule because the kubernetes cluster didn't have available resources after trying "
                   "for 00:05:00.\nYou can address this error by either adding more nodes, changing the SKU of your "
                   "nodes or changing the resource requirements of your service.\nPlease refer to "
                   "https://aka.ms/debugimage#container-cannot-be-scheduled for more information.")


def service_exists(name: str, workspace: str) -> AzureError:
    return AzureError("Conflict", f"Service {name} with the same name already exists, please use a different "
                      "service name or delete the existing service.", 409,
                      ({"code": "ServiceExists", "message": f"A service named {name} already exists in workspace "
                        f"{workspace}."},))


def operation_in_progress(name: str, kind: str, operation_id: str) -> AzureError:
    """Azure runs one operation at a time on a service."""
    return AzureError("Conflict", f"Service {name} has an operation in progress ({kind}, operation {operation_id}); "
                      "wait for it to finish (wait_for_deployment) and try again.", 409,
                      ({"code": "OperationInProgress", "message": f"Operation {operation_id} ({kind}) on service "
                        f"{name} is still running."},))


def deployment_operation_in_progress(deployment: str, endpoint: str, kind: str, operation_id: str) -> AzureError:
    """A v2 deployment (or its endpoint's delete) while an earlier operation on the deployment runs: Azure's 409
    for online endpoints (our text)."""
    return AzureError("Conflict", f"Deployment {deployment} of endpoint {endpoint} has an operation in progress "
                      f"({kind}, operation {operation_id}); wait for its poller (.result()) and try again.", 409)


def operation_cancelled(reason: str) -> AzureError:
    return AzureError("OperationCancelled", reason)


def unschedulable(reason: str) -> AzureError:
    """A deployment whose replicas fit nowhere (facts §6.1); ``reason`` is the scheduler's FitError text."""
    return AzureError("KubernetesError", "Kubernetes Deployment Error", 400,
                      ({"code": "Unschedulable", "message": reason},
                       {"code": "DeploymentFailed", "message": SCHEDULE_FAILED}))


def crash_loop_back_off(name: str) -> AzureError:
    """A service whose replicas keep crashing (``init()`` failing)."""
    return AzureError("KubernetesDeploymentFailed", "Kubernetes Deployment failed", 400, ({
        "code": "CrashLoopBackOff", "message": (
            "Your container application crashed. This may be caused by errors in your scoring file's init() "
            "function.\n\t1. Please check the logs for your container instance: {}. From the AML SDK, you can "
            "run print(service.get_logs()) if you have service object to fetch the logs.\n\t2. You can "
            "interactively debug your scoring file locally. Please refer to "
            "https://docs.microsoft.com/azure/machine-learning/how-to-debug-visual-studio-code#debug-and-"
            "troubleshoot-deployments for more information.\n\t3. You can also try to run image {} locally. "
            "Please refer to https://aka.ms/debugimage#service-launch-fails for more information.").format(
                name, "fake-azure/" + name)},))


# --- deployments (the deploy engine's operation errors) -----------------------------------------------

def deployment_cancelled() -> AzureError:
    """A deployment given up because its service is being deleted (or its workspace, or the daemon stops)."""
    return AzureError("DeploymentCancelled", "The deployment was abandoned: the service is being deleted.", 409)


def container_crashed() -> AzureError:
    """The SDK's local-deployment failure (azureml._model_management._util) when the container dies."""
    return AzureError("ContainerCrashed", "Error: Container has crashed. Did your init method fail?", 500)


def deployment_timed_out() -> AzureError:
    return AzureError("DeploymentTimedOut", (
        "The deployment operation polling has TimedOut. The service creation is taking longer than our "
        "normal time. We are still trying to achieve the desired state for the web service. Please "
        "check the webservice state for the current webservice health. You can run "
        "print(service.state) from the python SDK to retrieve the current state of the webservice."), 504)


def port_in_use(port: int, cause: str) -> AzureError:
    """A LocalWebservice's port is taken (the SDK's Docker message, then the cause)."""
    return AzureError("PortInUse", (
        "Docker container start has failed, the port you are attempting to use is already in use:\n"
        f"port {port} is already in use on 127.0.0.1 ({cause})"), 409)


def replica_start_failed(replica_id: str, detail: str) -> AzureError:
    """A replica that could not be launched at all (the runtime refused, or failed unexpectedly)."""
    return AzureError("ReplicaStartFailed", f"Replica {replica_id} could not start: {detail}", 500)


def environment_build_failed(message: str) -> AzureError:
    return AzureError("EnvironmentBuildFailed", f"Failed to build the environment for the service:\n{message}", 400)


def gpu_unavailable() -> AzureError:
    return AzureError("GpuUnavailable", (
        "FAKE_AZURE_GPU_POLICY=require: the service's replicas were given GPUs on the emulated cluster, but "
        "this host has no NVIDIA GPU to run them on."), 400)


def deployment_internal_error(name: str, cause: BaseException) -> AzureError:
    """A bug must still end the operation, never leave it pending."""
    return AzureError("InternalError", f"fake-azure failed to deploy {name}: {cause!r}", 500)


# --- computes ----------------------------------------------------------------------------------------

def provisioning_fault() -> AzureError:
    """The injected ``fail_provisioning`` fault (test-only /_emulator/faults)."""
    return AzureError("ProvisioningFailed", (
        "Compute provisioning failed: the AKS cluster could not be created (fault injected by fake-azure through "
        "/_emulator/faults: fail_provisioning)."), 400)


def vm_size_not_supported(vm_size: str, subscription_id: str, location: str, available: str) -> AzureError:
    return AzureError("VMSizeNotSupported", (
        f"Virtual Machine size: '{vm_size}' is not supported for subscription {subscription_id} "
        f"in location '{location}'. The available VM sizes are '{available}'"), 400)


def fast_prod_too_small(minimum_vcpus: int, agent_count: int, vm_size: str, vcpus: int) -> AzureError:
    """A FastProd cluster below Azure's vCPU minimum (the other purpose is DevTest)."""
    return AzureError("BadRequest", (
        "The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be "
        f"greater than or equal to {minimum_vcpus} for a cluster with cluster purpose "
        f"FastProd; {agent_count} x {vm_size} ({vcpus} vCPUs) gives "
        f"{vcpus * agent_count}. Add nodes, choose a larger VM size, or use cluster purpose "
        "DevTest."), 400)


# --- Model.package / Model.profile operations -------------------------------------------------------------

def package_failed(message: str) -> AzureError:
    return AzureError("PackageFailed", message, 400)


def profiling_failed(message: str) -> AzureError:
    return AzureError("ProfilingFailed", message, 400)


def profiling_partly_failed(message: str) -> AzureError:
    """A profile that finished although some scoring requests failed (the record keeps it beside Succeeded)."""
    return AzureError("PartialSuccess", message, 200)


# --- SDK v2 online endpoints ---------------------------------------------------------------------------

def endpoint_not_found(name: str, workspace: str) -> AzureError:
    return AzureError("UserError", f"Endpoint {name} not found in workspace {workspace}.", 404)


def deployment_not_found(name: str, endpoint: str, workspace: str) -> AzureError:
    """The service's text (seen in azd's output for a missing deployment)."""
    return AzureError("UserError", f"Deployment {name} not found in endpoint {endpoint}, workspace {workspace}", 404)


def arm_operation_not_found(operation_id: str) -> AzureError:
    return AzureError("NotFound", f"Operation {operation_id} was not found.", 404)


def asset_reference_not_served(kind: str, reference: str) -> AzureError:
    """A deployment naming an asset the local cloud cannot serve (another workspace, a registry, a build)."""
    return AzureError("BadArgument", (
        f"fake-azure cannot use {reference!r} as a deployment's {kind[:-1]}: it serves versions of this "
        f"workspace's {kind} (azureml:<name>:<version> or their ARM ids) only."), 400)


def instance_type_not_supported(instance_type: str, available: str) -> AzureError:
    return AzureError("BadArgument", (
        f"Instance type {instance_type} is not supported for managed online deployments. "
        f"The supported instance types are '{available}'"), 400)


def scoring_unauthorized(endpoint: str) -> AzureError:
    return AzureError("Unauthorized", (
        f"Invalid or missing authentication for endpoint {endpoint}: send 'Authorization: Bearer <key or token>' "
        "with one of the endpoint's keys (auth_mode key) or a token from its token operation (aml_token)."), 401)


def endpoint_has_no_live_deployment(endpoint: str) -> AzureError:
    """Azure's text when no deployment takes live traffic and the request names none."""
    return AzureError("NotFound", (
        "No valid deployments to route to. Please check that the endpoint has at least one deployment with "
        "positive weight values or use a deployment specific header to route."), 404)


def endpoint_deployment_not_found(deployment: str, endpoint: str) -> AzureError:
    return AzureError("NotFound", (
        f"Deployment {deployment} named by the azureml-model-deployment header is not a deployment of endpoint "
        f"{endpoint} (or it is not serving yet)."), 404)


def resource_not_ready() -> AzureError:
    """A managed deployment whose container keeps crashing (init() failing): the service's text."""
    return AzureError("ResourceNotReady", (
        "User container has crashed or terminated. Please see troubleshooting guide, available here: "
        "https://aka.ms/oe-tsg#error-resourcenotready"), 400)


def deployment_crash_loop_back_off() -> AzureError:
    """A Kubernetes online deployment whose container keeps crashing while it initializes (Azure's code for it in
    the troubleshooting guide; our text)."""
    return AzureError("DeploymentCrashLoopBackOff", (
        "The user container crashed while initializing: score.py's init() raised (a syntax or import error, "
        "a missing file), or the pod needs more memory than its limit. See the deployment's logs (get_logs)."),
        400)


def image_build_failure(details: str) -> AzureError:
    """A managed deployment whose environment could not be built (Azure's code; its message points at the
    build log in the workspace storage account, ours at the local environment log and says what failed)."""
    return AzureError("ImageBuildFailure", f"Image build failed. {details}", 400)


def out_of_quota(instance_type: str, subscription: str, used: int, limit: int, needed: int) -> AzureError:
    """Azure's refusal of a managed deployment past the subscription's vCPU quota (FAKE_AZURE_V2_VCPU_QUOTA)."""
    return AzureError("OutOfQuota", (
        f"Not enough quota available for {instance_type} in SubscriptionId {subscription}. Current usage/limit: "
        f"{used}/{limit}. Additional needed: {needed} Please see troubleshooting guide, available here: "
        "https://aka.ms/oe-tsg#error-outofquota"), 400)


def traffic_total_invalid(total: int) -> AzureError:
    return AzureError("BadArgument", (
        f"Traffic values must add up to 0 or 100; they add up to {total}."), 400)


def traffic_to_missing_deployments(missing: list[str], endpoint: str) -> AzureError:
    return AzureError("BadArgument", (
        f"Traffic is set for deployment(s) {', '.join(missing)} that do not exist on endpoint {endpoint}. "
        "Create the deployment first, then route traffic to it."), 400)


def mirror_traffic_invalid(reason: str) -> AzureError:
    return AzureError("BadArgument", f"Mirror traffic is not valid: {reason}", 400)


def deployment_has_traffic(name: str, endpoint: str, percent: int) -> AzureError:
    return AzureError("BadArgument", (
        f"Deployment {name} of endpoint {endpoint} receives {percent}% of the endpoint's traffic and cannot be "
        "deleted. Set its traffic to 0 first."), 400)


def wrong_auth_mode(endpoint: str, auth_mode: str, wanted: str) -> AzureError:
    return AzureError("BadArgument", (
        f"Endpoint {endpoint} uses auth mode {auth_mode}; this operation needs {wanted}."), 400)


# --- SDK v2 Kubernetes computes (the messages are ours unless said) ----------------------------------------

def kubernetes_cluster_not_found(resource_id: str, workspace: str) -> AzureError:
    """A KubernetesCompute attach (from ``workspace``) naming a cluster the local cloud does not know."""
    return AzureError("BadArgument", (
        f"The Kubernetes cluster {resource_id} was not found: attach an AKS cluster the local cloud knows, by "
        "its resource id: a v1 AksCompute's cluster_resource_id (ComputeTarget(ws, name).cluster_resource_id), "
        "or a managed cluster made with azure-mgmt-containerservice or `fake-azure aks create`."), 400)


def kubernetes_cluster_gone(resource_id: str, compute: str) -> AzureError:
    """An attached Kubernetes compute whose AKS cluster was deleted (its provisioning error)."""
    return AzureError("ResourceNotFound", f"The Kubernetes cluster {resource_id} of compute {compute} no longer "
                                          "exists: attach an existing cluster.", None)


def kubernetes_pods_gone(resource_id: str) -> AzureError:
    """A deployment whose AKS cluster was deleted under it."""
    return AzureError("ResourceNotFound", f"The AKS cluster {resource_id} this deployment ran on was deleted: its "
                                          "pods are gone. Deploy again on an existing cluster.", None)


def compute_not_found_v2(name: str, workspace: str) -> AzureError:
    return AzureError("ResourceNotFound", f"Compute {name} not found in workspace {workspace}.", 404)


def compute_not_kubernetes(compute: str) -> AzureError:
    return AzureError("BadArgument", (
        f"Compute {compute} is not an attached Kubernetes compute of this workspace: a Kubernetes online "
        "endpoint needs one (ml_client.compute.begin_create_or_update(KubernetesCompute(...)))."), 400)


def kubernetes_instance_type_not_found(instance_type: str, compute: str, available: list[str]) -> AzureError:
    return AzureError("BadArgument", (
        f"Instance type {instance_type} is not defined on compute {compute}. Defined instance types: "
        f"{', '.join(sorted(available))}."), 400)


def endpoint_compute_type_mismatch(endpoint: str, endpoint_kind: str, deployment_kind: str) -> AzureError:
    return AzureError("BadArgument", (
        f"A {deployment_kind} deployment cannot be created under endpoint {endpoint}, which is a "
        f"{endpoint_kind} endpoint."), 400)


def kubernetes_unschedulable(reason: str) -> AzureError:
    """Azure's text for a Kubernetes deployment whose pods fit on no node (its troubleshooting guide's
    'Kubernetes quota'), with the scheduler's own FitError."""
    return AzureError("OutOfQuota", f"Kubernetes unschedulable. Details:{reason}", 400)


def arm_operation_failed(operation_id: str) -> AzureError:
    """A failed ARM operation that recorded no error of its own (its Location poll must still fail)."""
    return AzureError("OperationFailed", f"Operation {operation_id} failed.", 400)
