"""The optional customer_history extract: every broken rule named by file, row, column and rule."""

from __future__ import annotations

import copy

from closelib.book.load import load_book, validate_source
from tests.conftest import MINI, write_source


def rows(*entries):
    return [{"customer_id": c, "effective_date": d, "field": f, "value": v} for c, d, f, v in entries]


def problems(tmp_path, history):
    tables = copy.deepcopy(MINI)
    tables["customer_history"] = history
    return validate_source(write_source(tmp_path / "b", tables))


def test_a_good_history_loads(tmp_path):
    history = rows(
        ("C001", "2025-01-01", "status", "active"),
        ("C001", "2025-01-01", "risk_rating", "4"),
        ("C001", "2025-01-01", "credit_limit", "4000.00"),
        ("C001", "2025-01-01", "last_review_date", ""),
        ("C001", "2026-01-15", "last_review_date", "2026-01-15"),
        ("C002", "2025-01-01", "parent_id", ""),
        ("C002", "2026-02-01", "parent_id", "C001"),
        ("C002", "2025-01-01", "collector", "Ben"),
    )
    assert problems(tmp_path, history) == []
    tables = copy.deepcopy(MINI)
    tables["customer_history"] = history
    book = load_book(write_source(tmp_path / "c", tables))
    assert book.has("customer_history") and len(book.customer_history) == 8


def test_every_broken_rule_with_file_row_column_and_rule(tmp_path):
    history = rows(
        ("C999", "2025-01-01", "status", "active"),  # row 2: unknown customer
        ("C001", "2025-01-01", "status", "asleep"),  # row 3: not a status
        ("C001", "2025-02-01", "risk_rating", "11"),  # row 4: outside 1..10
        ("C001", "2025-03-01", "credit_limit", "-5.00"),  # row 5: negative
        ("C001", "2025-04-01", "credit_limit", "1.234"),  # row 6: more decimals than USD
        ("C001", "2025-05-01", "last_review_date", "31/01/2025"),  # row 7: not ISO
        ("C001", "2025-06-01", "parent_id", "C404"),  # row 8: no such parent
        ("C001", "2025-07-01", "credit_currency", "EUR"),  # row 9: not a dated field
        ("C001", "2025-13-01", "status", "active"),  # row 10: not a date
        ("C001", "2025-02-01", "risk_rating", "5"),  # row 11: same customer, date and field as row 4
        ("C001", "2025-08-01", "name", ""),  # row 12: a name is required
    )
    found = {(p.file, p.row, p.column, p.rule) for p in problems(tmp_path, history)}
    f = "customer_history.csv"
    assert found == {
        (f, 2, "customer_id", "foreign_key"),
        (f, 3, "value", "enum"),
        (f, 4, "value", "range"),
        (f, 5, "value", "non_negative"),
        (f, 6, "value", "currency_decimals"),
        (f, 7, "value", "date"),
        (f, 8, "value", "foreign_key"),
        (f, 9, "field", "enum"),
        (f, 10, "effective_date", "date"),
        (f, 11, "customer_id+effective_date+field", "unique"),
        (f, 12, "value", "required"),
    }
    messages = {p.row: p.message for p in problems(tmp_path / "m", history)}
    assert messages[3].startswith("status: must be one of active, on_hold")
    assert messages[4] == "risk_rating: must be between 1 and 10"
    assert messages[8] == "parent_id: no parent customer with this id"
