"""How the front end words its answers: its own failures (azureml-fe's texts, or Azure's inference router's for
a managed online deployment) and a replica's answer as it passes it on."""
from __future__ import annotations

import http

from . import managed
from .context import Response, json_error, text_error
from .model import ServiceRoute


def replica_answer(answer: Response, route: ServiceRoute) -> Response:
    """A replica's answer as the route's front end passes it on: the router's 424 for a managed deployment's
    non-200, 502 for an exception in run() on a Kubernetes deployment, else unchanged."""
    if route.managed:
        return managed.model_answer(answer)
    if route.run_error_as_bad_gateway and answer.status == 500:
        return Response(502, answer.headers, answer.body)
    return answer


def gateway_failure(status: int, route: ServiceRoute) -> Response:
    """The front end's own failure answers (Azure's words where known); injected faults use them too,
    so a client cannot tell an injected 502, 503 or 504 from a real one."""
    if route.managed and status in (503, 504):
        return managed.overloaded() if status == 503 else managed.timed_out(route.scoring_timeout_ms)
    if status == 502:
        return text_error(502, "Replica closed connection before replying")
    if status == 503:
        return text_error(503, f"Too many requests for {route.called} (overloaded)")
    if status == 504:
        return json_error(504, f"Request exceeded scoring timeout of {route.scoring_timeout_ms} ms")
    try:
        return text_error(status, http.HTTPStatus(status).phrase)
    except ValueError:
        return text_error(status, f"Injected failure {status}")
