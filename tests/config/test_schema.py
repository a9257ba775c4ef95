"""What the OpenAPI schema says about inputs is what the API enforces (config/schema.py)."""

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _component(schema, name):
    return schema["components"]["schemas"][name]["properties"]


@pytest.mark.parametrize(
    ("component", "field", "minimum", "maximum"),
    [
        ("VoucherInput", "price", 0, 10_000_000_00),
        ("VoucherInput", "stock", 0, 10_000_000),
        ("VoucherInput", "per_user_limit", 1, 1000),
        ("VoucherInput", "payment_window_seconds", 60, 7 * 24 * 3600),
        ("Benefit", "value", 0, 10_000_000_00),
        ("Restock", "quantity", 1, 10_000_000),
        ("LotCreate", "capacity", 1, 100_000),
        ("LotCreate", "grace_minutes", 0, 240),
        ("TopUpRequest", "amount", 1, 10_000_000_00),
    ],
)
def test_strict_integers_are_documented_as_integers_with_their_bounds(schema, component, field, minimum, maximum):
    prop = _component(schema, component)[field]
    assert prop["type"] == "integer"
    assert (prop["minimum"], prop["maximum"]) == (minimum, maximum)


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("VoucherInput", "begins_at"),
        ("VoucherInput", "ends_at"),
        ("CameraEvent", "at"),
        ("CameraEntry", "at"),
        ("LotQuote", "entered_at"),
    ],
)
def test_input_times_are_documented_as_date_times(schema, component, field):
    prop = _component(schema, component)[field]
    assert (prop["type"], prop["format"]) == ("string", "date-time")


def _parameters(schema, path, method="get"):
    return {p["name"]: p for p in schema["paths"][path][method].get("parameters", []) if p["in"] == "query"}


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [
        ("/api/v1/operator/vouchers", "status", {"draft", "listed", "delisted"}),
        ("/api/v1/vouchers", "kind", {"normal", "seckill"}),
        ("/api/v1/operator/lots/{lot_id}/sessions", "status", {"open", "closed", "unpaid"}),
        ("/api/v1/orders", "status", {"processing", "pending_payment", "paid", "used"}),
    ],
)
def test_query_filters_are_documented_with_their_choices(schema, path, name, values):
    param = _parameters(schema, path)[name]
    assert values <= set(param["schema"]["enum"])


def test_id_filters_are_documented_as_integers(schema):
    params = _parameters(schema, "/api/v1/vouchers")
    assert params["lot"]["schema"]["type"] == params["organization"]["schema"]["type"] == "integer"
