import pytest

from parking.plates import is_new_energy_plate, is_valid_plate, normalize_plate


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("粤B12345", "粤B12345"),
        ("粤b 123.45", "粤B12345"),
        ("粤B·12345", "粤B12345"),
        (" 沪a-8888f ", "沪A8888F"),
        ("京AD12345", "京AD12345"),
        ("京A12345D", "京A12345D"),
        ("苏E1234挂", "苏E1234挂"),
    ],
)
def test_valid_plates_normalize(raw, plate):
    assert normalize_plate(raw) == plate
    assert is_valid_plate(plate)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "ABC123",
        "粤12345",
        "粤B1234",
        "粤B123456",
        "粤BI2345",
        "粤BO2345",
        "X粤B1234",
        "粤B1234567",
        "粤BA12345",
    ],
)
def test_invalid_plates(raw):
    assert not is_valid_plate(normalize_plate(raw))


def test_new_energy_plates():
    assert is_new_energy_plate("京AD12345")
    assert is_new_energy_plate("京A12345F")
    assert not is_new_energy_plate("京A12345")


def test_clean_plate_normalizes_or_says_what_a_plate_looks_like():
    from config.errors import DomainError
    from parking.plates import PLATE_HINT, clean_plate

    assert clean_plate(" 粤b·123.45 ") == "粤B12345"
    with pytest.raises(DomainError) as exc:
        clean_plate("nope")
    assert exc.value.code == "validation_error" and exc.value.details == {"plate": [PLATE_HINT]}


@pytest.mark.parametrize(("plate", "vehicle_type"), [("粤B12345", "small"), ("京AD12345", "new_energy")])
def test_a_plate_implies_its_vehicle_type(plate, vehicle_type):
    from parking.services.vehicles import default_vehicle_type

    assert default_vehicle_type(plate) == vehicle_type


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("粤B12345", "mainland"),
        ("京AD12345", "mainland"),
        ("苏E1234挂", "mainland"),
        ("粤Z1234港", "hong_kong"),
        ("粤ZA123澳", "macau"),
        ("使014578", "embassy"),
        ("沪A1234领", "consulate"),
        ("KA·12345", "military"),
        ("WJ粤12345", "armed_police"),
        ("WJ 01 2345", "armed_police"),
        ("粤B临1234", "temporary"),
        ("临A12345", "temporary"),
        ("AB 1234", "hong_kong"),
        ("MA-12-34", "macau"),
        ("B-MW 1234", "foreign"),
        ("ABC123", "foreign"),
    ],
)
def test_a_camera_takes_any_plate_and_says_what_kind_it_is(raw, kind):
    from parking.plates import camera_plate, plate_kind

    assert plate_kind(camera_plate(raw)) == kind


@pytest.mark.parametrize("raw", ["", "   ", "·-.", "X" * 17, "粤B\x0712345"])
def test_a_camera_plate_is_non_empty_printable_and_short(raw):
    from config.errors import DomainError
    from parking.plates import camera_plate

    with pytest.raises(DomainError) as exc:
        camera_plate(raw)
    assert exc.value.code == "validation_error"


def test_a_camera_plate_is_kept_as_read_but_for_spaces_separators_and_case():
    from parking.plates import camera_plate

    assert camera_plate(" wj粤 12345 ") == "WJ粤12345"
    assert camera_plate("使 014·578") == "使014578"
    assert camera_plate("x" * 16) == "X" * 16
