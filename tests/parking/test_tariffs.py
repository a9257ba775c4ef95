"""The tariff engine against the contract's rule: vectors written from the rule's text, a literal
reference implementation compared on random rules, and properties."""

import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.errors import DomainError
from parking.tariffs import (
    NightRate,
    TariffRule,
    fee_for_minutes,
    fee_for_stay,
    parse_rule,
    percent_off,
    stay_minutes,
    window_cost,
)

CONTRACT = TariffRule(
    free_minutes=15, first_minutes=60, first_price=500, unit_minutes=30, unit_price=200, cap_per_24h=3000
)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("minutes", "fee"),
    [
        (0, 0),
        (1, 0),
        (15, 0),  # exactly the free minutes
        (16, 500),  # one minute more: the first period
        (60, 500),  # exactly the first period
        (61, 700),  # one started unit
        (90, 700),
        (91, 900),
        (100, 900),  # the contract's example: 23:30 to 01:10
        (420, 2900),  # 12 units, under the cap
        (421, 3000),  # 13 units would be 3100: capped
        (1440, 3000),  # exactly 24 hours: one capped window
        (1441, 3500),  # 24 hours and one minute: a new window starts with its first period
        (1440 + 15, 3500),  # free minutes count once per stay, not per window
        (1440 + 61, 3700),
        (2 * 1440, 6000),
        (3 * 1440, 9000),
        (3 * 1440 + 100, 9900),
        (7 * 1440 + 1439, 7 * 3000 + 3000),
    ],
)
def test_contract_vectors(minutes, fee):
    assert fee_for_minutes(CONTRACT, minutes) == fee


def test_the_contracts_example_between_two_instants():
    entered = datetime(2026, 3, 1, 23, 30, tzinfo=SHANGHAI)
    assert fee_for_stay(CONTRACT, entered, entered + timedelta(minutes=100), tz=SHANGHAI) == 900


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (15 * 60, 15), (15 * 60 + 1, 16)]
)
def test_a_started_minute_counts(seconds, minutes):
    entered = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert stay_minutes(entered, entered + timedelta(seconds=seconds)) == minutes


def test_fifteen_minutes_and_one_second_is_no_longer_free():
    entered = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert fee_for_stay(CONTRACT, entered, entered + timedelta(minutes=15)) == 0
    assert fee_for_stay(CONTRACT, entered, entered + timedelta(minutes=15, seconds=1)) == 500


def test_exit_before_entry_is_a_validation_error():
    entered = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(DomainError) as exc:
        fee_for_stay(CONTRACT, entered, entered - timedelta(seconds=1))
    assert exc.value.code == "validation_error"


def test_very_long_stays_are_priced_quickly():
    entered = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    rule = TariffRule(unit_minutes=1, unit_price=1, cap_per_24h=10**6, night=NIGHT.night)
    fee = fee_for_stay(rule, entered, entered + timedelta(days=1000, minutes=61), tz=SHANGHAI)
    assert fee == 1000 * window_cost(rule, 1440, 16 * 60) + window_cost(rule, 61, 16 * 60)


def test_minutes_off_shortens_the_stay_before_pricing():
    entered = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    exited = entered + timedelta(minutes=100)
    assert fee_for_stay(CONTRACT, entered, exited, minutes_off=60) == 500  # 40 minutes
    assert fee_for_stay(CONTRACT, entered, exited, minutes_off=90) == 0  # 10 minutes: free
    assert fee_for_stay(CONTRACT, entered, exited, minutes_off=1000) == 0


@pytest.mark.parametrize(
    ("amount", "percent", "off"),
    [(900, 10, 90), (905, 10, 91), (904, 10, 90), (1, 50, 1), (3, 50, 2), (0, 30, 0), (999, 100, 999)],
)
def test_percent_off_rounds_half_up(amount, percent, off):
    assert percent_off(amount, percent) == off


# --- night rate and vehicle types --------------------------------------------------------------------

NIGHT = TariffRule(night=NightRate(start=time(22, 0), end=time(7, 0), unit_price=100, cap=600))


def _local(h, m=0):
    return datetime(2026, 3, 1, h, m, tzinfo=SHANGHAI)


def test_night_units_use_the_night_price():
    # 21:00 + 3 h: first hour 500, then units starting 22:00, 22:30, 23:00, 23:30 at 100.
    assert fee_for_stay(NIGHT, _local(21), _local(21) + timedelta(hours=3), tz=SHANGHAI) == 900


def test_night_units_are_capped_per_window():
    # 21:00 + 6 h: ten night units (1000) capped at 600.
    assert fee_for_stay(NIGHT, _local(21), _local(21) + timedelta(hours=6), tz=SHANGHAI) == 1100


def test_day_units_after_the_night_window():
    # 06:00 + 3 h: first hour 500, units from 07:00 are day units at 200.
    assert fee_for_stay(NIGHT, _local(6), _local(6) + timedelta(hours=3), tz=SHANGHAI) == 1300


def test_the_night_window_is_read_in_local_time():
    entered = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)  # 21:00 in Shanghai, 13:00 in UTC
    exited = entered + timedelta(hours=3)
    assert fee_for_stay(NIGHT, entered, exited, tz=SHANGHAI) == 900
    assert fee_for_stay(NIGHT, entered, exited, tz=UTC) == 500 + 4 * 200


def test_night_window_that_does_not_wrap():
    rule = TariffRule(night=NightRate(start=time(12, 0), end=time(14, 0), unit_price=0))
    assert fee_for_stay(rule, _local(11), _local(14), tz=SHANGHAI) == 500  # 12:00-14:00 units free
    assert fee_for_stay(rule, _local(11), _local(14, 1), tz=SHANGHAI) == 700


# --- validation -------------------------------------------------------------------------------------


def _errors(data):
    with pytest.raises(DomainError) as exc:
        parse_rule(data)
    assert exc.value.code == "validation_error"
    assert exc.value.status == 400
    return exc.value.details["tariff"]


def test_the_contract_tariff_parses():
    assert parse_rule(CONTRACT.as_dict()) == CONTRACT


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"unit_minutes": 0}, "unit_minutes"),
        ({"first_minutes": 0}, "first_minutes"),
        ({"unit_minutes": -5}, "unit_minutes"),
        ({"first_price": 500, "cap_per_24h": 499}, "cap_per_24h"),
        ({"unit_price": "200"}, "unit_price"),
        ({"unit_price": 2.5}, "unit_price"),
        ({"free_minutes": True}, "free_minutes"),
        ({"free_minutes": 2000}, "free_minutes"),
        ({"colour": "red"}, "colour"),
        ({"night": {"start": "22:00", "end": "22:00", "unit_price": 100}}, "night"),
        ({"night": {"start": "25:00", "end": "07:00", "unit_price": 100}}, "night"),
        ({"night": {"start": "22:00", "end": "07:00"}}, "night"),
    ],
)
def test_invalid_tariffs_name_the_field(data, field):
    assert field in _errors(data)


def test_a_tariff_must_be_an_object():
    with pytest.raises(DomainError):
        parse_rule([1, 2])


def test_night_rate_round_trips():
    data = {**CONTRACT.as_dict(), "night": {"start": "22:00", "end": "07:00", "unit_price": 100, "cap": 600}}
    assert parse_rule(data).as_dict() == data


# --- properties -------------------------------------------------------------------------------------


def reference_fee(rule: TariffRule, m: int) -> int:
    """The contract's text, literally."""
    if m <= rule.free_minutes:
        return 0

    def cost(x):
        if x <= rule.first_minutes:
            c = rule.first_price
        else:
            c = rule.first_price + math.ceil((x - rule.first_minutes) / rule.unit_minutes) * rule.unit_price
        return min(c, rule.cap_per_24h)

    k = m // 1440
    r = m - 1440 * k
    return k * cost(1440) + (cost(r) if r > 0 else 0)


@st.composite
def rules(draw, with_night=True):
    first_price = draw(st.integers(0, 2000))
    night = None
    if with_night and draw(st.booleans()):
        start = draw(st.integers(0, 1439))
        end = draw(st.integers(0, 1439).filter(lambda e: e != start))
        night = NightRate(
            start=time(start // 60, start % 60),
            end=time(end // 60, end % 60),
            unit_price=draw(st.integers(0, 1000)),
            cap=draw(st.one_of(st.none(), st.integers(0, 5000))),
        )
    return TariffRule(
        free_minutes=draw(st.integers(0, 120)),
        first_minutes=draw(st.integers(1, 240)),
        first_price=first_price,
        unit_minutes=draw(st.integers(1, 120)),
        unit_price=draw(st.integers(0, 1000)),
        cap_per_24h=draw(st.integers(first_price, first_price + 20000)),
        night=night,
    )


@settings(max_examples=300, deadline=None)
@given(rule=rules(with_night=False), m=st.integers(0, 10 * 1440))
def test_engine_matches_the_contracts_text(rule, m):
    assert fee_for_minutes(rule, m) == reference_fee(rule, m)


@settings(max_examples=200, deadline=None)
@given(rule=rules(), start=st.integers(0, 1439), m=st.integers(0, 4 * 1440), step=st.integers(1, 600))
def test_fee_never_falls_as_the_stay_grows(rule, start, m, step):
    assert fee_for_minutes(rule, m + step, start) >= fee_for_minutes(rule, m, start)
    assert fee_for_minutes(rule, m + 1, start) >= fee_for_minutes(rule, m, start)


@settings(max_examples=200, deadline=None)
@given(rule=rules(), start=st.integers(0, 1439), x=st.integers(1, 1440))
def test_no_window_costs_more_than_its_cap(rule, start, x):
    assert 0 <= window_cost(rule, x, start) <= rule.cap_per_24h


@settings(max_examples=200, deadline=None)
@given(rule=rules(), start=st.integers(0, 1439), m=st.integers(0, 6 * 1440))
def test_a_stay_costs_at_most_one_cap_per_started_day(rule, start, m):
    assert fee_for_minutes(rule, m, start) <= math.ceil(m / 1440) * rule.cap_per_24h


@settings(max_examples=100, deadline=None)
@given(rule=rules(), start=st.integers(0, 1439), k=st.integers(1, 5))
def test_whole_days_cost_whole_windows(rule, start, k):
    if k * 1440 > rule.free_minutes:
        assert fee_for_minutes(rule, k * 1440, start) == k * window_cost(rule, 1440, start)
