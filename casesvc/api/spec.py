"""The OpenAPI document flask-smorest builds, made exact for client generators."""

from __future__ import annotations

from typing import Any

import flask
import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_instance
from marshmallow import fields

from casesvc.errors import Api as ErrorApi
from casesvc.schemas import NAMED_ENUMS


class Converter(OpenAPIConverter):
    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        """apispec drops ``additionalProperties`` from a schema with a description: keep it."""
        jsonschema: dict[str, Any] = super().schema2jsonschema(schema)
        unknown = resolve_schema_instance(schema).unknown
        if unknown != ma.EXCLUDE:
            jsonschema.setdefault("additionalProperties", unknown == ma.INCLUDE)
        return jsonschema


class Plugin(MarshmallowPlugin):
    Converter = Converter


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


class Api(ErrorApi):
    """The casesvc Api: one error format, and a document that names its enums and holds
    nothing it does not use."""

    def _init_spec(self, **kwargs: Any) -> None:
        kwargs.setdefault("marshmallow_plugin", Plugin())
        super()._init_spec(**kwargs)
        for enum, (name, description) in NAMED_ENUMS.items():
            values = [member.value for member in enum]
            self.spec.components.schema(
                name, {"type": "string", "enum": values, "description": description}
            )
        self.ma_plugin.converter.add_attribute_function(enum_reference)

    def _openapi_swagger_ui(self) -> str:
        """flask-smorest's Swagger UI page, from casesvc's copy of its template: the same
        page, with the casesvc icon and a link back to the dashboard."""
        return flask.render_template(
            "web/swagger_ui.html",
            title=self.spec.title,
            spec_url=flask.url_for(f"{self._make_doc_blueprint_name()}.openapi_json"),
            swagger_ui_url=self._swagger_ui_url,
            swagger_ui_config=self.config.get("OPENAPI_SWAGGER_UI_CONFIG", {}),
            dashboard_url=flask.url_for("web.dashboard"),
            cases_url=flask.url_for("web.cases"),
        )

    def _register_pagination_header(self) -> None:
        """Nothing: casesvc pages with tokens, not with flask-smorest's page numbers."""
