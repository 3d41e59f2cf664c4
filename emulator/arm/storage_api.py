"""The storage account's blob routes (``https://{account}.blob.core.localhost:{port}/...``): a Flask app of its
own, reached through the HTTPS listener by host name, with Azure Storage's XML errors and ``x-ms-*`` headers."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from ..cloud import Cloud
from ..validation import check_model
from . import storage
from .schema import BlockList
from .storage import StorageError

MAX_BLOCK_LIST_BYTES = 8 * 1024 * 1024  # 50,000 ids of 64 bytes, base64, in XML: about 5 MB
LIST_MAX_RESULTS = 5000  # Azure's cap for one List Blobs page


def _cloud(app: Flask) -> Cloud:
    return app.config["CLOUD"]


def _xml_error(status: int, code: str, message: str) -> Response:
    body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}\nRequestId:{uuid.uuid4()}\nTime:{_iso(time.time())}</Message></Error>")
    # A HEAD answer has no body: the SDK reads the code from this header.
    return Response(body if request.method != "HEAD" else "", status=status, mimetype="application/xml",
                    headers={"x-ms-error-code": code})


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime(epoch))


def _metadata_from_headers() -> dict[str, str]:
    # The server keeps the headers as sent (emulator/arm/http11.py): metadata names are case-preserving.
    raw = request.environ.get("fake_azure.raw_headers") or list(request.headers.items())
    return {key[len("x-ms-meta-"):]: value for key, value in raw if key.lower().startswith("x-ms-meta-")}


def create_storage_app(cloud: Cloud) -> Flask:
    app = Flask("fake_azure_storage")
    app.config["CLOUD"] = cloud
    app.config["MAX_CONTENT_LENGTH"] = cloud.settings.max_body_bytes
    accounts: dict[str, str] = {}  # account name -> workspace id

    def workspace_of(account: str) -> str:
        if account not in accounts:
            for row in cloud.store.read().execute("SELECT id, body FROM workspaces"):
                accounts[storage.account_name(json.loads(row["body"]))] = row["id"]
        if account not in accounts:
            raise StorageError("The specified account does not exist.", code="ResourceNotFound", status_code=404)
        return accounts[account]

    def account() -> tuple[str, str]:
        name = request.environ["fake_azure.storage_account"]
        workspace_id = workspace_of(name)
        storage.check_signature(cloud.token, name, request.args.get("sig"))
        return name, workspace_id

    @app.errorhandler(StorageError)
    def render_storage_error(exc: StorageError):
        return _xml_error(exc.status_code, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def render_http_error(exc: HTTPException):
        code = {404: "ResourceNotFound", 405: "UnsupportedHttpVerb", 413: "RequestBodyTooLarge"}.get(
            exc.code or 500, "InvalidInput")
        return _xml_error(exc.code or 500, code, exc.description or "")

    @app.after_request
    def storage_headers(response: Response) -> Response:
        response.headers["x-ms-request-id"] = str(uuid.uuid4())
        response.headers["x-ms-version"] = request.headers.get("x-ms-version", "2021-08-06")
        response.headers["Date"] = storage.http_date(time.time())
        return response

    @app.route("/<container>", methods=["GET", "HEAD", "PUT"])
    def container_call(container: str):
        name, _ = account()
        storage.check_container(container)
        if request.args.get("restype") != "container":
            raise StorageError("The requested URI does not represent any resource on the server.",
                               code="InvalidUri", status_code=400)
        if request.method == "PUT":  # containers exist on first use; a create is a no-op (docs/parity.md)
            return Response(status=201, headers={"ETag": '"0x1"', "Last-Modified": storage.http_date(time.time())})
        if request.args.get("comp") == "list" and request.method == "GET":
            return _list(name, container)
        return Response(status=200, headers={"ETag": '"0x1"', "Last-Modified": storage.http_date(time.time()),
                                             "x-ms-lease-state": "available", "x-ms-lease-status": "unlocked"})

    def _list(name: str, container: str) -> Response:
        try:
            limit = min(int(request.args.get("maxresults", LIST_MAX_RESULTS)), LIST_MAX_RESULTS)
        except ValueError:
            limit = -1
        if limit < 1:
            raise StorageError("Value for one of the query parameters specified in the request URI is invalid.",
                               code="OutOfRangeQueryParameterValue", status_code=400)
        prefix, marker = request.args.get("prefix", ""), request.args.get("marker", "")
        blobs, next_marker = storage.list_blobs(cloud.store.read(), name, container, prefix, marker, limit)
        with_metadata = "metadata" in request.args.get("include", "").split(",")
        items = []
        for blob in blobs:
            meta = ("<Metadata>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in blob.metadata.items())
                    + "</Metadata>") if with_metadata else ""
            items.append(
                f"<Blob><Name>{escape(blob.name)}</Name><Properties><Creation-Time>{storage.http_date(blob.created_at)}"
                f"</Creation-Time><Last-Modified>{storage.http_date(blob.modified_at)}</Last-Modified>"
                f"<Etag>{escape(blob.etag)}</Etag><Content-Length>{blob.size}</Content-Length>"
                f"<Content-Type>{escape(blob.content_type)}</Content-Type><BlobType>BlockBlob</BlobType>"
                f"<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
                f"<ServerEncrypted>true</ServerEncrypted></Properties>{meta}</Blob>")
        body = (f'<?xml version="1.0" encoding="utf-8"?>'
                f'<EnumerationResults ServiceEndpoint="{escape(request.host_url)}"'
                f' ContainerName="{escape(container)}"><Prefix>{escape(prefix)}</Prefix><MaxResults>{limit}'
                f"</MaxResults><Blobs>{''.join(items)}</Blobs><NextMarker>{escape(next_marker)}</NextMarker>"
                "</EnumerationResults>")
        return Response(body, mimetype="application/xml")

    @app.route("/<container>/<path:blob>", methods=["GET", "HEAD", "PUT", "DELETE"])
    def blob_call(container: str, blob: str):
        name, workspace_id = account()
        storage.check_container(container)
        storage.check_blob_name(blob)
        comp = request.args.get("comp")
        if request.method == "PUT":
            if comp == "block":
                return _put_block(name, workspace_id, container, blob)
            if comp == "blocklist":
                return _put_block_list(name, workspace_id, container, blob)
            if comp == "metadata":
                with cloud.store.transaction() as conn:
                    updated = storage.set_metadata(conn, name, container, blob, _metadata_from_headers(), time.time())
                return Response(status=200, headers={"ETag": updated.etag,
                                                     "Last-Modified": storage.http_date(updated.modified_at)})
            if comp is not None:
                raise StorageError(f"The value for one of the HTTP headers is not in the correct format (comp={comp}).",
                                   code="InvalidQueryParameterValue", status_code=400)
            return _put_blob(name, workspace_id, container, blob)
        if request.method == "DELETE":
            with cloud.store.transaction() as conn:
                storage.get(conn, name, container, blob)
                conn.execute("DELETE FROM storage_blobs WHERE account = ? AND container = ? AND name = ?",
                             (name, container, blob))
            return Response(status=202)
        found = storage.get(cloud.store.read(), name, container, blob)
        headers = storage.properties_headers(found)
        if request.method == "HEAD":
            return Response(status=200, headers={**headers, "Content-Length": str(found.size)})
        return _get_blob(found, headers)

    def _refuse_overwrite(conn: Any, name: str, container: str, blob: str) -> None:
        """``If-None-Match: *`` (the client's ``overwrite=False``): 409 when the blob exists."""
        if request.headers.get("If-None-Match", "").strip() != "*":
            return
        try:
            storage.get(conn, name, container, blob)
        except StorageError:
            return
        raise StorageError("The specified blob already exists.", code="BlobAlreadyExists", status_code=409)

    def _put_blob(name: str, workspace_id: str, container: str, blob: str) -> Response:
        if request.headers.get("x-ms-blob-type", "BlockBlob") != "BlockBlob":
            raise StorageError("The local cloud stores block blobs only.", code="FeatureNotSupported",
                               status_code=400)
        _refuse_overwrite(cloud.store.read(), name, container, blob)  # before reading a body we would refuse
        digest, size = cloud.blobs.put(request.stream)  # written before the lock: no lock across network I/O
        content_type = request.headers.get("x-ms-blob-content-type") or "application/octet-stream"
        with cloud.store.transaction() as conn:
            _refuse_overwrite(conn, name, container, blob)
            written = storage.write(conn, workspace_id, name, container, blob, digest, size, content_type,
                                    _metadata_from_headers(), time.time())
        return _created(written)

    def _put_block(name: str, workspace_id: str, container: str, blob: str) -> Response:
        block_id = request.args.get("blockid", "")
        digest, size = cloud.blobs.put(request.stream)
        with cloud.store.transaction() as conn:
            storage.stage_block(conn, workspace_id, name, container, blob, block_id, digest, size)
        return Response(status=201, headers={"x-ms-request-server-encrypted": "true"})

    def _put_block_list(name: str, workspace_id: str, container: str, blob: str) -> Response:
        if (request.content_length or 0) > MAX_BLOCK_LIST_BYTES:
            raise StorageError("The request body is too large.", code="RequestBodyTooLarge", status_code=413)
        raw = request.get_data()
        if len(raw) > MAX_BLOCK_LIST_BYTES:
            raise StorageError("The request body is too large.", code="RequestBodyTooLarge", status_code=413)
        try:
            root = ElementTree.fromstring(raw)
        except ElementTree.ParseError as exc:
            raise StorageError(f"The XML specified is not syntactically valid: {exc}", code="InvalidXmlDocument",
                               status_code=400) from exc
        listed = check_model(BlockList, {"tag": root.tag, "ids": [child.text or "" for child in root]}, "block list")
        with cloud.store.transaction() as conn:
            parts = storage.block_list_parts(conn, name, container, blob, listed.ids)
        # The parts are concatenated into one stored blob outside any transaction (file I/O), then recorded.
        digest, size = cloud.blobs.put(storage.ConcatenatedBlobs(cloud.blobs, [d for d, _ in parts]))
        content_type = request.headers.get("x-ms-blob-content-type") or "application/octet-stream"
        with cloud.store.transaction() as conn:
            _refuse_overwrite(conn, name, container, blob)
            written = storage.write(conn, workspace_id, name, container, blob, digest, size, content_type,
                                    _metadata_from_headers(), time.time())
        return _created(written)

    def _created(blob: storage.Blob) -> Response:
        return Response(status=201, headers={"ETag": blob.etag, "Last-Modified": storage.http_date(blob.modified_at),
                                             "x-ms-request-server-encrypted": "true"})

    def _get_blob(blob: storage.Blob, headers: dict[str, Any]) -> Response:
        wanted = request.headers.get("x-ms-range") or request.headers.get("Range")
        if not wanted:
            return Response(storage.read_range(cloud.blobs, blob, 0, blob.size - 1), status=200,
                            headers={**headers, "Content-Length": str(blob.size)}, direct_passthrough=True)
        start, end = _parse_range(wanted, blob.size)
        if start >= blob.size:
            raise StorageError("The range specified is invalid for the current size of the resource.",
                               code="InvalidRange", status_code=416)
        end = min(end, blob.size - 1)
        return Response(storage.read_range(cloud.blobs, blob, start, end), status=206, direct_passthrough=True,
                        headers={**headers, "Content-Length": str(end - start + 1),
                                 "Content-Range": f"bytes {start}-{end}/{blob.size}"})

    return app


def _parse_range(value: str, size: int) -> tuple[int, int]:
    try:
        unit, span = value.split("=", 1)
        first, last = span.split("-", 1)
        start, end = int(first), (int(last) if last else size - 1)
    except ValueError:
        raise StorageError(f"The range {value!r} is not valid.", code="InvalidRange", status_code=416) from None
    if unit.strip() != "bytes" or start < 0 or end < start:
        raise StorageError(f"The range {value!r} is not valid.", code="InvalidRange", status_code=416)
    return start, end
