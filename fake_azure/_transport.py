"""A lean HTTP transport for the facade's loopback calls to the daemon.

``requests`` costs about 0.8 ms per call in its own bookkeeping (measured in bench/); the control
plane's calls are a few milliseconds in all, so the facade speaks urllib3 directly and hands back
a small response object with the parts of ``requests.Response`` it uses."""
from __future__ import annotations

import json as jsonlib
from typing import Any, Iterator, Mapping
from urllib.parse import urlencode, urlsplit

import urllib3


class TransportError(Exception):
    """The daemon could not be reached (refused, reset, timed out)."""


class Response:
    def __init__(self, raw: urllib3.BaseHTTPResponse, preloaded: bool) -> None:
        self._raw = raw
        self.status_code = raw.status
        self.headers = raw.headers
        self._content: bytes | None = raw.data if preloaded else None

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self._raw.read()
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def iter_content(self, chunk_size: int) -> Iterator[bytes]:
        yield from self._raw.stream(chunk_size)

    def close(self) -> None:
        self._raw.release_conn()


class Transport:
    """Keep-alive connections to one daemon URL."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if not parts.hostname:  # what urllib3 itself raises for a pool without a host
            raise urllib3.exceptions.LocationValueError(f"No host specified in {base_url!r}.")
        self._pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port, maxsize=16, block=False,
                                                timeout=urllib3.Timeout(connect=5.0, read=timeout), retries=False)
        self._headers = dict(headers)

    def request(self, method: str, path: str, *, json: Any = None, data: Any = None,
                headers: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None,
                stream: bool = False) -> Response:
        all_headers = dict(self._headers)
        if headers:
            all_headers.update(headers)
        body = data
        if json is not None:
            body = jsonlib.dumps(json).encode("utf-8")
            all_headers.setdefault("Content-Type", "application/json")
        elif data is not None and not isinstance(data, (bytes, str)) and hasattr(data, "__len__"):
            all_headers["Content-Length"] = str(len(data))  # a sized stream goes out without chunking
        if params:
            path = path + ("&" if "?" in path else "?") + urlencode({k: v for k, v in params.items() if v is not None})
        try:
            raw = self._pool.urlopen(method, path, body=body, headers=all_headers, preload_content=not stream,
                                     redirect=False, chunked=False)
        except urllib3.exceptions.HTTPError as exc:  # the one place urllib3's errors cross into ours
            raise TransportError(str(exc)) from exc
        return Response(raw, preloaded=not stream)

    def close(self) -> None:
        self._pool.close()
