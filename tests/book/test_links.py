"""The row links the validation found are handed to the book (links.keep_found) and equal what
:class:`closelib.book.links.Links` looks up itself."""

from __future__ import annotations

import numpy as np
import pytest

from closelib.book.links import FOUND_BY_VALIDATION, Links, links
from closelib.book.load import load_book
from closelib.demo import generate_book
from tests.conftest import write_source


def _assert_handed_and_equal(book) -> None:
    kept = links(book)
    handed = {name for name in FOUND_BY_VALIDATION if name in kept._values}  # before anything is looked up
    present = {n for n, (table, _, target) in FOUND_BY_VALIDATION.items() if book.has(table) and book.has(target)}
    assert handed == present
    fresh = Links(book)
    for name in Links.NAMES:
        np.testing.assert_array_equal(kept.get(name), fresh.get(name), err_msg=name)
        assert kept.get(name).dtype == np.int64


def test_mini_book(tmp_path, mini_tables):
    _assert_handed_and_equal(load_book(write_source(tmp_path / "mini", mini_tables)))


def test_demo_book_with_foreign_currency_and_credit_memos(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    for name, frame in generate_book(scale=0.05).items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    _assert_handed_and_equal(load_book(folder))


def test_a_book_without_adjustments_hands_over_the_applications_only(tmp_path, mini_tables):
    tables = {name: rows for name, rows in mini_tables.items() if name != "adjustments"}
    book = load_book(write_source(tmp_path / "no-adj", tables))
    assert not book.has("adjustments")
    _assert_handed_and_equal(book)


@pytest.mark.parametrize("name", sorted(FOUND_BY_VALIDATION))
def test_positions_of_other_rows_are_not_taken(tmp_path, mini_tables, name):
    from closelib.book.links import keep_found

    book = load_book(write_source(tmp_path / "mini", mini_tables))
    book.__dict__.pop("_links")
    keep_found(book, lambda t, c, g: np.zeros(len(book.tables[t]) + 1, dtype="int64"))  # one row too many
    assert name not in links(book)._values
