"""Shared serializer fields of config/api.py: aware times only, integers only."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from rest_framework import serializers

from config.api import AwareDateTimeField, StrictIntegerField


class Times(serializers.Serializer):
    at = AwareDateTimeField()


class Counts(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1)


@pytest.mark.parametrize("value", ["2026-05-01T08:00:00", "2026-05-01 08:00", "2026-05-01T08:00:00.123"])
def test_a_time_without_offset_is_refused_with_a_clear_message(value):
    ser = Times(data={"at": value})
    assert not ser.is_valid()
    assert "UTC offset" in str(ser.errors["at"][0])
    assert ser.errors["at"][0].code == "naive"


def test_a_naive_datetime_object_is_refused_too():
    assert not Times(data={"at": datetime(2026, 5, 1, 8, 0)}).is_valid()


@pytest.mark.parametrize(
    ("value", "utc"),
    [
        ("2026-05-01T08:00:00+08:00", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
        ("2026-05-01T00:00:00Z", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
        ("2026-04-30T20:00:00-04:00", datetime(2026, 5, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_a_time_with_offset_is_taken_at_its_word(value, utc):
    ser = Times(data={"at": value})
    assert ser.is_valid(), ser.errors
    assert ser.validated_data["at"] == utc


def test_an_aware_datetime_object_passes():
    at = datetime(2026, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    ser = Times(data={"at": at})
    assert ser.is_valid(), ser.errors


@pytest.mark.parametrize("value", ["yesterday", "", 12, None, "2026-13-01T00:00:00Z"])
def test_garbage_is_the_usual_invalid_error(value):
    ser = Times(data={"at": value})
    assert not ser.is_valid()
    assert ser.errors["at"][0].code in ("invalid", "null", "date")


@pytest.mark.parametrize("value", ["5", 5.0, True, "", None, [5]])
def test_a_quantity_must_be_a_json_integer(value):
    ser = Counts(data={"quantity": value})
    assert not ser.is_valid()


def test_a_quantity_respects_its_bounds():
    assert Counts(data={"quantity": 5}).is_valid()
    assert not Counts(data={"quantity": 0}).is_valid()
