"""How a managed online deployment's front end (Azure's inference router) words its answers, where they
differ from azureml-fe's: the model's own non-200 answer becomes 424 with the model's status in
``ms-azureml-model-error-statuscode``, an overload 429 with an empty body, the scoring timeout 408
(Azure's troubleshooting table for online endpoints)."""
from __future__ import annotations

from .context import Response

REASON_HEADER = "ms-azureml-model-error-reason"
STATUS_HEADER = "ms-azureml-model-error-statuscode"


def model_answer(resp: Response) -> Response:
    """A replica's answer as the router passes it on: the body unchanged, a non-200 status as 424."""
    if resp.status == 200:
        return resp
    headers = [(k, v) for k, v in resp.headers if k.lower() not in (REASON_HEADER, STATUS_HEADER)]
    headers += [(REASON_HEADER, "model_error"), (STATUS_HEADER, str(resp.status))]
    return Response(424, headers, resp.body)


def overloaded() -> Response:
    return Response(429, [("Content-Type", "text/plain"), (REASON_HEADER, "too_many_pending_request")], b"")


def timed_out(timeout_ms: int) -> Response:
    return Response(408, [("Content-Type", "text/plain; charset=utf-8")],
                    f"Request exceeded the deployment's request timeout of {timeout_ms} ms".encode())
