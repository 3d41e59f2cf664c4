"""The control plane's OpenAPI 3.1 document, read off the routes' declared schemas (``@validated``), so
what is published is what is checked (served at ``GET /_emulator/openapi.json``; docs/rest-services.md)."""
from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic.json_schema import models_json_schema

from fake_azure import __version__

from .validation import RouteSpec, path_segment

_ARGUMENT = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>\w+)>")
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "statusCode": {"type": "integer"}, "message": {"type": "string"},
                   "details": {"type": "array", "items": {"type": "object"}}}}}}


def route_spec(app: Flask, endpoint: str) -> RouteSpec | None:
    return getattr(app.view_functions.get(endpoint), "route_spec", None)


def build(app: Flask) -> dict[str, Any]:
    specs = [(rule, route_spec(app, rule.endpoint)) for rule in app.url_map.iter_rules()
             if rule.endpoint != "static"]
    models = sorted({m for _, s in specs if s for m in (s.body, s.multipart) if m is not None},
                    key=lambda m: m.__name__)
    refs, definitions = models_json_schema([(m, "validation") for m in models],
                                           ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for rule, spec in specs:
        def segment(match: re.Match[str], spec: RouteSpec | None = spec) -> str:  # bound: sub() calls it at once
            return "{" + path_segment(match["name"], spec).name + "}"

        template = _ARGUMENT.sub(segment, rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(template, {})[method.lower()] = _operation(rule, spec or RouteSpec(), refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "fake-azure control plane", "version": __version__,
                 "description": "The local Azure ML (SDK v1) control plane: ARM workspaces and computes, the "
                                "model registry, environments and Model Management Service webservices."},
        "paths": paths,
        "components": {"schemas": {**definitions.get("$defs", {}), "Error": _ERROR},
                       "securitySchemes": {"controlPlaneToken": {"type": "http", "scheme": "bearer"}}},
        "security": [{"controlPlaneToken": []}],
    }


def _operation(rule: Any, spec: RouteSpec, refs: dict) -> dict[str, Any]:
    parameters = []
    for match in _ARGUMENT.finditer(rule.rule):
        segment = path_segment(match["name"], spec)
        parameters.append({"name": segment.name, "in": "path", "required": True,
                           "schema": segment.adapter.json_schema()})
    if spec.query is not None:
        schema = spec.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                               "schema": prop})
    operation: dict[str, Any] = {"operationId": rule.endpoint, "parameters": parameters, "responses": {
        "default": {"description": "Success, or Azure's error envelope",
                    "content": {"application/json": {"schema": {}}}},
        "400": {"description": "The request failed validation",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}}
    if spec.body is not None:
        operation["requestBody"] = {"required": not spec.body_optional, "content": {
            "application/json": {"schema": refs[(spec.body, "validation")]}}}
    elif spec.patch is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json-patch+json": {"schema": spec.patch.json_schema()}}}
    elif spec.multipart is not None:
        operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["metadata"],
            "properties": {"metadata": {**refs[(spec.multipart, "validation")],
                                        "description": "JSON text of this object"},
                           "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                                    "description": "One part per file; its filename is the percent-encoded "
                                                   "relative path"}}}}}}
    return operation
