"""Parameters (CONTRACT §2): exact YAML, layering, every problem reported, consistency."""

from __future__ import annotations

import copy
import json
import shutil
import time
from decimal import Decimal
from pathlib import Path

import pytest

from closelib.errors import CloseError, ParameterError, RatingBandError
from closelib.money import MoneyError
from closelib.params import (
    RunSettings,
    bucket_labels,
    check_parameters,
    load_parameters,
    money_minor,
    parse_override,
    rating_band_value,
)
from closelib.paths import REPO_ROOT
from closelib.yamlfile import load_yaml, read_yaml_file

REPO = REPO_ROOT
DEFAULTS = REPO / "parameters" / "defaults.yaml"


@pytest.fixture
def pdir(tmp_path: Path) -> Path:
    folder = tmp_path / "parameters"
    folder.mkdir()
    shutil.copy(DEFAULTS, folder / "defaults.yaml")
    return folder


@pytest.fixture
def raw() -> dict:
    return read_yaml_file(DEFAULTS)


def problems_of(params: dict) -> list[str]:
    with pytest.raises(ParameterError) as info:
        check_parameters(params)
    return info.value.problems


# ---------------------------------------------------------------- defaults


def test_defaults_load_and_validate():
    p = load_parameters("2026-10", REPO / "parameters")
    assert set(p) >= {"company", "source", "gl", "aging", "reserve", "write_off", "credit_review", "collections"}
    assert p["gl"]["ar_control_accounts"] == ["1100"]
    assert p["gl"]["recon_tolerance"] == "0.00"  # money stays a decimal string
    assert p["aging"]["basis"] in ("due_date", "document_date")
    labels = bucket_labels(p["aging"]["buckets"])
    assert list(p["reserve"]["fixed_rates"]) == labels  # a rate for every bucket, no other
    assert p["reserve"]["fixed_rates"]["1-30"] == 0.016  # rates are plain numbers
    assert p["reserve"]["overlay"]["overall"] == 1.0 and p["reserve"]["overlay"]["per_bucket"] == {}
    assert p["reserve"]["specific"] == [] and p["gl"]["reconciling_items"] == []
    assert p["write_off"]["approval_matrix"][-1]["up_to"] is None
    json.dumps(p)  # JSON-safe: what papermill receives and the manifest records


def test_defaults_yaml_is_read_exactly(raw):
    assert isinstance(raw["reserve"]["fixed_rates"]["1-30"], Decimal)
    assert raw["reserve"]["fixed_rates"]["1-30"] == Decimal("0.016")


def test_defaults_are_policy_not_data():
    text = DEFAULTS.read_text()
    import re

    # no customer ids (C000123), document ids or invoice numbers outside comments
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert not re.search(r"\bC\d{3,}\b|\bINV-?\d+|\bD\d{3,}\b", code)


# ---------------------------------------------------------------- exact YAML


def test_yaml_decimals_are_exact():
    data = load_yaml("a: 1234.50\nb: 0.1\nc: 12\nd: '0120'\ne: 1_000.25")
    assert data == {"a": Decimal("1234.50"), "b": Decimal("0.1"), "c": 12, "d": "0120", "e": Decimal("1000.25")}
    assert str(data["a"]) == "1234.50"


def test_yaml_octal_and_sexagesimal_stay_text():
    # YAML 1.1 would read 0120 as octal 80 and 1:30 as 90: an account code would change.
    assert load_yaml("a: 0120\nb: 1:30\nc: 0x1F") == {"a": "0120", "b": "1:30", "c": "0x1F"}


@pytest.mark.parametrize("text", ["a: .inf", "a: .nan", "a: 1:30.5", "a: [1,"])
def test_yaml_unusable_numbers_and_syntax_are_parameter_errors(text):
    with pytest.raises(ParameterError):
        load_yaml(text)


def test_money_parameter_stays_exact(pdir):
    p = load_parameters("2026-10", pdir, overrides=["gl.recon_tolerance=1234.50"])
    assert p["gl"]["recon_tolerance"] == "1234.50"
    assert money_minor(p["gl"]["recon_tolerance"], "USD") == 123450
    assert money_minor(p["gl"]["recon_tolerance"], "KWD") == 1234500
    with pytest.raises(MoneyError):
        money_minor(p["gl"]["recon_tolerance"], "JPY")  # 0.50 yen does not exist
    assert money_minor(None, "USD") is None
    p = load_parameters("2026-10", pdir, overrides=["gl.recon_tolerance=0.1"])
    assert p["gl"]["recon_tolerance"] == "0.1" and money_minor("0.1", "USD") == 10


# ---------------------------------------------------------------- layering


def test_period_file_overrides_that_period_only(pdir):
    (pdir / "2026-10.yaml").write_text(
        "reserve:\n  method: fixed_rates\n  overlay:\n    overall: 1.1\n    reason: recession outlook\n"
    )
    october = load_parameters("2026-10", pdir)
    november = load_parameters("2026-11", pdir)
    assert october["reserve"]["method"] == "fixed_rates" and november["reserve"]["method"] == "roll_rate"
    assert october["reserve"]["overlay"] == {"overall": 1.1, "per_bucket": {}, "reason": "recession outlook"}
    # keys not named in the period file keep their defaults (mappings merge key by key)
    assert october["reserve"]["lookback_months"] == november["reserve"]["lookback_months"] == 12


def test_period_file_may_change_buckets_with_a_whole_new_matrix(pdir):
    (pdir / "2026-10.yaml").write_text(
        "aging:\n  buckets: [0, 30, 60, 90]\n"
        "reserve:\n"
        "  fixed_rates: {current: 0.01, 1-30: 0.02, 31-60: 0.05, 61-90: 0.2, 90+: 0.6}\n"
        "  floor_rates: {current: 0.005, 1-30: 0.01, 31-60: 0.03, 61-90: 0.1, 90+: 0.5}\n"
    )
    p = load_parameters("2026-10", pdir)
    assert list(p["reserve"]["fixed_rates"]) == ["current", "1-30", "31-60", "61-90", "90+"]
    assert p["reserve"]["fixed_rates"]["90+"] == 0.6


def test_params_file_then_overrides_win(pdir, tmp_path):
    extra = tmp_path / "run.yaml"
    extra.write_text("reserve:\n  lookback_months: 6\n  method: fixed_rates\n")
    p = load_parameters("2026-10", pdir, params_file=extra, overrides=["reserve.lookback_months=9"])
    assert p["reserve"]["lookback_months"] == 9 and p["reserve"]["method"] == "fixed_rates"


def test_overrides_read_as_yaml(pdir):
    p = load_parameters(
        "2026-10",
        pdir,
        overrides=[
            "gl.ar_control_accounts=[0120, '1100', 1105]",
            "aging.basis=document_date",
            "reserve.fixed_rates.1-30=0.02",  # one key of a matrix; the others stay
            "write_off.bankrupt_any_age=false",
            "company='Acme: EMEA'",  # quoted, as YAML needs
        ],
    )
    assert p["gl"]["ar_control_accounts"] == ["0120", "1100", "1105"]
    assert p["aging"]["basis"] == "document_date"
    assert p["reserve"]["fixed_rates"]["1-30"] == 0.02 and p["reserve"]["fixed_rates"]["current"] == 0.005
    assert p["write_off"]["bankrupt_any_age"] is False
    assert p["company"] == "Acme: EMEA"


def test_parse_override_shapes():
    assert parse_override("a.b.c=1.50") == {"a": {"b": {"c": Decimal("1.50")}}}
    assert parse_override("a=") == {"a": ""}
    assert parse_override("a=x=y") == {"a": "x=y"}
    with pytest.raises(ParameterError, match="key=value"):
        parse_override("reserve.method")
    with pytest.raises(ParameterError, match="empty key"):
        parse_override("=3")


# ---------------------------------------------------------------- problems, all of them


def test_bad_keys_and_values_listed_together(pdir):
    with pytest.raises(ParameterError) as info:
        load_parameters(
            "2026-10",
            pdir,
            overrides=[
                "gl.recon_tolerence=1.00",  # typo
                "aging.basis=invoice_date",  # not an option
                "reserve.lookback_months=0",  # out of range
                "gl.recon_tolerance=-5.00",  # negative money
                "reserve.bankrupt_rate=1.5",  # a rate above 1
                "run.workers=two",
            ],
        )
    problems = info.value.problems
    text = "\n".join(problems)
    assert len(problems) == 6, text
    assert "gl.recon_tolerence: unknown key (did you mean 'recon_tolerance'?)" in text
    assert "aging.basis: must be one of due_date, document_date" in text
    assert "reserve.lookback_months: 0 is outside 1..60" in text
    assert "gl.recon_tolerance: must be at least 0" in text
    assert "reserve.bankrupt_rate" in text and "run.workers" in text


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("run.workers=Infinity", "run.workers: expected a whole number"),
        ("reserve.bankrupt_rate=nan", "reserve.bankrupt_rate: expected a rate"),
        ("gl.recon_tolerance=true", "gl.recon_tolerance: expected an amount"),
        ("gl.recon_tolerance=1,000.00", "gl.recon_tolerance: expected an amount"),
        ("aging.buckets=[0, 30.5]", "aging.buckets[1]: expected a whole number"),
        ("gl=null", "gl: expected a mapping"),
    ],
)
def test_bad_values_are_parameter_errors_not_crashes(pdir, override, fragment):
    with pytest.raises(ParameterError) as info:
        load_parameters("2026-10", pdir, overrides=[override])
    assert any(fragment in p for p in info.value.problems), info.value.problems


def test_missing_key_is_reported(raw):
    del raw["reserve"]["method"]
    assert problems_of(raw) == ["reserve.method: missing"]


def test_bad_period_and_files(pdir, tmp_path):
    with pytest.raises(ParameterError, match="YYYY-MM"):
        load_parameters("2026-13", pdir)
    with pytest.raises(ParameterError, match="not found"):
        load_parameters("2026-10", pdir, params_file=tmp_path / "nope.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ParameterError, match="mapping"):
        load_parameters("2026-10", pdir, params_file=tmp_path / "list.yaml")
    (pdir / "2026-10.yaml").write_text("reserve: [\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_parameters("2026-10", pdir)


# ---------------------------------------------------------------- consistency


def test_buckets_must_start_at_zero_and_increase(raw):
    raw["aging"]["buckets"] = [0, 60, 30]
    assert any("aging.buckets: must start at 0 and increase" in p for p in problems_of(raw))
    raw["aging"]["buckets"] = [30, 60]
    assert any("aging.buckets" in p for p in problems_of(raw))


def test_buckets_changed_by_override_need_matching_rates(pdir):
    # roll_rate (the default) reads the floors only: stale floor labels are named, the policy
    # matrix it never reads is not; a bucket without a floor is allowed (zero).
    with pytest.raises(ParameterError) as info:
        load_parameters("2026-10", pdir, overrides=["aging.buckets=[0, 30, 60, 90]"])
    text = "\n".join(info.value.problems)
    assert "reserve.floor_rates.91-120: not a bucket label" in text
    assert "fixed_rates" not in text and "no rate for bucket" not in text
    # fixed_rates reads the policy matrix only: it must cover every bucket, floors are not checked
    with pytest.raises(ParameterError) as info:
        load_parameters("2026-10", pdir, overrides=["aging.buckets=[0, 30, 60, 90]", "reserve.method=fixed_rates"])
    text = "\n".join(info.value.problems)
    assert "reserve.fixed_rates.91-120: not a bucket label" in text
    assert "reserve.fixed_rates: no rate for bucket '90+'" in text
    assert "floor_rates" not in text


def test_a_method_needs_only_its_own_rate_table(pdir):
    # New buckets with only the floors restated (and one bucket without a floor) under roll_rate:
    # the stale default policy matrix does not stop the run.
    (pdir / "2026-10.yaml").write_text(
        "aging:\n  buckets: [0, 30, 60, 90]\nreserve:\n  floor_rates: {current: 0.002, 31-60: 0.03, 90+: 0.5}\n"
    )
    p = load_parameters("2026-10", pdir)
    assert p["reserve"]["floor_rates"] == {"current": 0.002, "31-60": 0.03, "90+": 0.5}
    assert "91-120" in p["reserve"]["fixed_rates"]  # stale, and not read
    # ... and under fixed_rates only the policy matrix is restated; the stale floors do not matter
    (pdir / "2026-11.yaml").write_text(
        "aging:\n  buckets: [0, 30, 60, 90]\nreserve:\n  method: fixed_rates\n"
        "  fixed_rates: {current: 0.01, 1-30: 0.02, 31-60: 0.05, 61-90: 0.2, 90+: 0.6}\n"
    )
    p = load_parameters("2026-11", pdir)
    assert p["reserve"]["fixed_rates"]["90+"] == 0.6 and "91-120" in p["reserve"]["floor_rates"]


def test_fixed_rate_label_typo(raw):
    raw["reserve"]["method"] = "fixed_rates"  # the table is checked where the method reads it
    raw["reserve"]["fixed_rates"]["1-3O"] = raw["reserve"]["fixed_rates"].pop("1-30")
    problems = problems_of(raw)
    assert any(p.startswith("reserve.fixed_rates.1-3O: not a bucket label (did you mean '1-30'?)") for p in problems)
    assert "reserve.fixed_rates: no rate for bucket '1-30'" in problems


def test_floor_rate_label_typo_under_roll_rate(raw):
    raw["reserve"]["floor_rates"]["1-3O"] = raw["reserve"]["floor_rates"].pop("1-30")
    problems = problems_of(raw)
    assert any(p.startswith("reserve.floor_rates.1-3O: not a bucket label (did you mean '1-30'?)") for p in problems)
    assert not any("no rate for bucket" in p for p in problems)  # a bucket without a floor is zero


def test_overlay_needs_reason(raw):
    raw["reserve"]["overlay"]["overall"] = Decimal("1.2")
    assert problems_of(raw) == ["reserve.overlay.reason: an overlay needs its reason"]
    raw["reserve"]["overlay"] = {"overall": Decimal("1.0"), "per_bucket": {"1-30": Decimal("1.5")}, "reason": " "}
    assert problems_of(raw) == ["reserve.overlay.reason: an overlay needs its reason"]
    raw["reserve"]["overlay"]["reason"] = "sector stress"
    assert check_parameters(raw)["reserve"]["overlay"]["per_bucket"] == {"1-30": 1.5}


def test_specific_reserve_rate_xor_amount(raw):
    raw["reserve"]["specific"] = [
        {"customer_id": "C1", "rate": Decimal("0.5"), "amount": "100.00", "reason": "both"},
        {"customer_id": "C2", "reason": "neither"},
        {"customer_id": "C3", "amount": "250.00", "reason": "ok"},
    ]
    assert problems_of(raw) == [
        "reserve.specific[0]: give either rate or amount",
        "reserve.specific[1]: give either rate or amount",
    ]


def test_approval_matrix_rules(raw):
    matrix = raw["write_off"]["approval_matrix"]
    raw["write_off"]["approval_matrix"] = matrix[:-1]  # no open-ended last tier
    assert problems_of(raw) == ["write_off.approval_matrix: the last tier (and only it) must have up_to: null"]
    raw["write_off"]["approval_matrix"] = [matrix[1], matrix[0], matrix[3]]
    assert problems_of(raw) == ["write_off.approval_matrix: up_to must increase"]


def test_collections_timeline_increases(raw):
    raw["collections"]["timeline"][0]["days"] = 200
    assert problems_of(raw) == ["collections.timeline: days must increase"]


def test_rating_bands_cover_one_to_ten_once(raw):
    raw["credit_review"]["cycle_months"] = {"1-4": 12, "4-7": 6, "8-10": 3}
    assert len(problems_of(raw)) == 1
    raw["credit_review"]["cycle_months"] = {"1-4": 12, "8-10": 3}
    assert "rating bands must cover 1..10" in problems_of(raw)[0]
    bands = {"1-4": 12, "5-7": 6, "8-10": 3}
    assert [rating_band_value(bands, r) for r in (1, 4, 5, 7, 8, 10)] == [12, 12, 6, 6, 3, 3]


def test_a_rating_in_no_band_names_the_rating_and_the_bands():
    with pytest.raises(RatingBandError, match="rating 11 is in none of the rating bands 1-4, 5-7, 8-10") as caught:
        rating_band_value({"1-4": 12, "5-7": 6, "8-10": 3}, 11)
    assert isinstance(caught.value, ParameterError) and isinstance(caught.value, CloseError)
    assert caught.value.rating == 11 and caught.value.bands == ["1-4", "5-7", "8-10"]


def test_run_settings_are_the_run_section_typed(raw):
    params = check_parameters(raw)
    settings = RunSettings.from_params(params)
    assert settings == RunSettings(int(params["run"]["timeout_seconds"]), int(params["run"]["workers"]))
    assert RunSettings.from_params({"run": {"timeout_seconds": "77", "workers": 0}}) == RunSettings(77, 1)


def test_check_parameters_does_not_change_its_input(raw):
    before = copy.deepcopy(raw)
    check_parameters(raw)
    assert raw == before


# ---------------------------------------------------------------- issue 17: huge numbers


@pytest.mark.parametrize("value", ['"1e999999999"', "1e999999999", '"1e-999999999"', '"' + "9" * 400 + '"'])
def test_a_huge_money_parameter_is_a_short_problem(pdir, value):
    started = time.monotonic()
    with pytest.raises(ParameterError) as raised:
        load_parameters("2026-10", pdir, overrides=[f"gl.recon_tolerance={value}"])
    message = str(raised.value)
    assert "gl.recon_tolerance" in message and ("out of range" in message or "digits after" in message)
    assert len(message) < 400 and time.monotonic() - started < 5  # never the billion digits


@pytest.mark.parametrize("value", ["1e999999999", "1" + "0" * 39])
def test_a_huge_whole_number_parameter_is_a_short_problem(pdir, value):
    with pytest.raises(ParameterError) as raised:
        load_parameters("2026-10", pdir, overrides=[f"run.workers={value}"])
    assert "run.workers" in str(raised.value) and len(str(raised.value)) < 400


def test_a_value_echoed_in_a_problem_is_cut(pdir):
    with pytest.raises(ParameterError) as raised:
        load_parameters("2026-10", pdir, overrides=["company=[" + ", ".join(["x" * 50] * 1000) + "]"])
    assert "company: expected text" in str(raised.value) and len(str(raised.value)) < 300
