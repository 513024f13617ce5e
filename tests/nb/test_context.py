"""A notebook opened by hand (issue 22): empty parameters give the default source, the book's
latest period and that period's parameters; tables display the same way every time."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from closelib.nb import bookload
from closelib.nb import context as nb
from closelib.paths import PARAMETERS_DIR
from closelib.periods import Period


def test_opened_by_hand_the_notebook_reads_the_default_source_and_latest_period(mini_source, tmp_path, monkeypatch):
    parameters = tmp_path / "parameters"
    parameters.mkdir()
    shutil.copy(PARAMETERS_DIR / "defaults.yaml", parameters)
    (parameters / "2026-10.yaml").write_text('company: "October Co"\n', encoding="utf-8")
    monkeypatch.setattr("closelib.nb.context.PARAMETERS_DIR", parameters)
    monkeypatch.setenv("CLOSE_SOURCE", str(mini_source))
    monkeypatch.setenv("CLOSE_SCRATCH", str(tmp_path / "scratch"))
    ctx = nb.start("", show_header=False)
    assert ctx.source == mini_source and ctx.period == Period(2026, 10) and ctx.run_dir is None
    assert ctx.params["company"] == "October Co"  # the latest period's file, not only the defaults
    assert ctx.output_path("pack.xlsx") == tmp_path / "scratch" / "pack.xlsx"


def test_tables_display_the_same_way_every_time(mini_source, capsys):
    frame = pd.DataFrame({"entity": ["US01"], "amount": [105050]})
    shown = []
    for _ in range(2):
        ctx = nb.start("tables", "2026-10", str(mini_source), show_header=False)
        ctx.show(frame, money_columns=["amount"])
        ctx.show(frame, money_columns=["amount"])
        shown.append(capsys.readouterr().out)
    assert shown[0] == shown[1]
    # numbered in the notebook, no random pandas id, no memory address
    assert 'id="T_1"' in shown[0] and 'id="T_2"' in shown[0] and " at 0x" not in shown[0]
    assert "1,050.50" in shown[0]


def test_plain_text_of_a_table_is_whole_up_to_60_rows_then_its_ends_and_size():
    short = pd.DataFrame({"customer": [f"C{i:04d}" for i in range(60)], "amount": [f"{i},000.00" for i in range(60)]})
    assert nb.plain_text(short) == short.to_string(index=False)
    long = pd.DataFrame({"customer": [f"C{i:04d}" for i in range(5000)], "amount": [str(i) for i in range(5000)]})
    text = nb.plain_text(long)
    lines = text.splitlines()
    assert lines[0].split() == ["customer", "amount"] and lines[1].split() == ["C0000", "0"]
    assert "C4999" in text and "C2500" not in text and "..." in text
    assert lines[-1] == "[5000 rows x 2 columns]" and len(lines) < 70
    with_index = nb.plain_text(long.set_index("customer"), index=True)
    assert "C4999" in with_index and with_index.splitlines()[-1] == "[5000 rows x 1 columns]"


def test_a_kernel_reads_the_cached_book_once_for_notebooks_needing_fewer_tables(mini_tables, tmp_path, monkeypatch):
    """Notebooks sharing a kernel: one whose tables the held book has gets it, or a view without
    the tables it never reads (the same frames, links, translation and customers as of the day);
    one that needs a table the held book lacks reads the book again."""
    from closelib.asof.customers import book_as_of
    from closelib.book import cache
    from closelib.book.fx import translation
    from closelib.book.links import links
    from closelib.book.load import load_book
    from tests.conftest import write_source

    history = [{"customer_id": "C001", "effective_date": "2026-11-15", "field": "risk_rating", "value": "9"}]
    mini_source = write_source(tmp_path / "mini", {**mini_tables, "customer_history": history})
    folder = tmp_path / "cache"
    cache.write_book_cache(load_book(mini_source), folder)
    reads = []
    real = bookload.read_book_cache
    monkeypatch.setattr(
        bookload, "read_book_cache", lambda *a, **k: reads.append(a[4] if len(a) > 4 else k) or real(*a, **k)
    )
    info = {"book_cache": str(folder)}
    bookload.LAST_CACHED.clear()
    day = pd.Timestamp("2026-10-31")
    try:
        first = bookload.run_book(mini_source, info, None, ("activities",))
        assert "gl_journal" in first.tables and "activities" not in first.tables
        first_as_of = book_as_of(first, day)
        assert first_as_of is not first and nb.master_data(first_as_of, day).before_history == 1
        view = bookload.run_book(mini_source, info, None, ("gl_journal", "activities"))
        assert len(reads) == 1 and view is not first
        assert set(view.tables) == set(first.tables) - {"gl_journal"} and view.present == first.present
        assert all(view.tables[name] is first.tables[name] for name in view.tables)
        with pytest.raises(AttributeError):
            view.gl_journal  # noqa: B018 - a table the workpaper never reads fails loudly
        assert links(view) is links(first) and translation(view) is translation(first)
        view_as_of = book_as_of(view, day)
        assert view_as_of.customers is first_as_of.customers and "gl_journal" not in view_as_of.tables
        assert nb.master_data(view_as_of, day) == nb.master_data(first_as_of, day)
        assert bookload.run_book(mini_source, info, None, ("activities", "gl_journal")) is view  # the same view again
        assert bookload.run_book(mini_source, info, None, ("activities",)) is first
        again = bookload.run_book(mini_source, info, None, ("gl_journal",))  # needs activities: read again
        assert len(reads) == 2 and "activities" in again.tables and "gl_journal" not in again.tables
    finally:
        bookload.LAST_CACHED.clear()


def test_the_book_held_is_let_go_before_another_is_read(tmp_path, mini_source, monkeypatch):
    """A notebook that needs a table the kernel's book lacks reads the book again; the book held
    is freed first (its frames sit in reference cycles), so the kernel never holds two."""
    import weakref

    from closelib.book import cache
    from closelib.book.load import load_book

    folder = tmp_path / "cache"
    cache.write_book_cache(load_book(mini_source), folder)
    info = {"book_cache": str(folder)}
    bookload.LAST_CACHED.clear()
    try:
        first = bookload.run_book(mini_source, info, None, ("activities",))
        first.__dict__["cycle"] = first  # as pandas' frames and derived values may form cycles
        held = weakref.ref(first)
        del first
        alive_at_read = []
        real = bookload.read_book_cache
        monkeypatch.setattr(
            bookload, "read_book_cache", lambda *a, **k: alive_at_read.append(held() is not None) or real(*a, **k)
        )
        again = bookload.run_book(mini_source, info, None, ("gl_journal",))
        assert alive_at_read == [False] and "activities" in again.tables
    finally:
        bookload.LAST_CACHED.clear()
