"""AKS-style access tokens for services with token auth: signed, expiring, verifiable without state."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

TOKEN_LIFETIME_S = 12 * 3600  # the SDK's comment: valid ~12 h past the refresh time
REFRESH_AFTER_S = 6 * 3600


def issue(secret: str, service: str, now: float | None = None) -> dict[str, object]:
    now = time.time() if now is None else now
    claims = {"svc": service, "exp": int(now + TOKEN_LIFETIME_S)}
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {"accessToken": f"{payload}.{signature}", "tokenType": "Bearer",
            "refreshAfter": int(now + REFRESH_AFTER_S), "expiryOn": claims["exp"]}


def verifier(secret: str, service: str):
    """A callable the gateway uses to check a presented token."""
    def verify(token: str) -> bool:
        payload, _, signature = token.partition(".")
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(expected, signature):
            return False
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return False
        return claims.get("svc") == service and claims.get("exp", 0) > time.time()
    return verify
