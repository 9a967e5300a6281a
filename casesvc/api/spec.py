"""The ``Api``: one error format for every 4xx and 5xx, and an OpenAPI document made exact for
client generators."""

from __future__ import annotations

import logging
from typing import Any

import flask_smorest
import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_instance
from flask import Flask
from marshmallow import fields
from werkzeug.exceptions import HTTPException, InternalServerError

from casesvc.api import components
from casesvc.schemas import NAMED_ENUMS, ApiErrorSchema

log = logging.getLogger(__name__)

# Every error body's keys, in the documented order (a 422 from webargs comes without a
# message, which is added last, so the order is set here once for all).
ERROR_KEYS = ("code", "status", "message", "errors")


class KeepsAdditionalProperties(OpenAPIConverter):
    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        """apispec drops ``additionalProperties`` from a schema with a description: keep it."""
        jsonschema: dict[str, Any] = super().schema2jsonschema(schema)
        unknown = resolve_schema_instance(schema).unknown
        if unknown != ma.EXCLUDE:
            jsonschema.setdefault("additionalProperties", unknown == ma.INCLUDE)
        return jsonschema


class Plugin(MarshmallowPlugin):
    Converter = KeepsAdditionalProperties  # the name apispec looks up


def enum_reference(converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> dict:
    """A named enum's field refers to its schema instead of repeating the values inline.

    apispec runs this attribute function last. Only a description stays beside the reference
    (a parameter's moves up to the parameter); a default would be ignored there, so a
    parameter's description tells it.
    """
    if not isinstance(field, fields.Enum) or field.enum not in NAMED_ENUMS:
        return {}
    description = ret.get("description")
    ret.clear()
    ret["$ref"] = f"#/components/schemas/{NAMED_ENUMS[field.enum][0]}"
    if description:
        ret["description"] = description
    return ret


class Api(flask_smorest.Api):
    """flask-smorest's Api, whose error answers (``{code, status, message, errors}``) keep
    their headers and always say why."""

    ERROR_SCHEMA = ApiErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Any:
        payload, code, headers = super().handle_http_exception(error)
        if isinstance(error, InternalServerError):
            original = error.original_exception
            if original is not None:
                log.error("unhandled error", exc_info=original)
            payload["message"] = "The server hit an error it did not expect."
        elif "message" not in payload:
            payload["message"] = error.description or payload["status"]
        # Keep the exception's own headers (Allow on 405, WWW-Authenticate on 401, …),
        # which the stock handler drops, but not the HTML Content-Type.
        merged = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        merged.update(headers or {})
        return {k: payload[k] for k in ERROR_KEYS if k in payload}, code, merged

    def _register_pagination_header(self) -> None:
        """Nothing: casesvc pages with tokens, not flask-smorest's page numbers, and the stock
        hook would put an unused PaginationMetadata schema in the document. (flask-smorest has
        no public option for this; it is the one private hook overridden here.)"""


def make_api(app: Flask, info: dict[str, Any]) -> Api:
    """The app's Api: named enums as schemas of their own, referred to wherever used."""
    api = Api(app, spec_kwargs={"marshmallow_plugin": Plugin(), "info": info})
    for enum, (name, description) in NAMED_ENUMS.items():
        values = [member.value for member in enum]
        api.spec.components.schema(
            name, {"type": "string", "enum": values, "description": description}
        )
    api.ma_plugin.converter.add_attribute_function(enum_reference)
    components.register(api)
    return api
