"""The typed book cache's derived values and entity reads (issue 21): what a notebook reads from
the cache equals what it would make from the book itself."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from closelib.asof.customers import book_as_of
from closelib.book import cache, cachefiles
from closelib.book.cache import FX, LINKS, read_book_cache, write_book_cache
from closelib.book.fx import Translation, translate_book, translation
from closelib.book.links import Links, links
from closelib.book.load import load_book
from closelib.demo import generate_book


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory) -> Path:
    """The demo book (two entities, foreign-currency lines, customer history) at a small scale."""
    folder = tmp_path_factory.mktemp("demo")
    for name, frame in generate_book(scale=0.05).items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    return folder


@pytest.fixture(scope="module")
def cached(demo_source: Path, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("store") / "cache"
    write_book_cache(load_book(demo_source), folder)
    return folder, demo_source


def _assert_same_translation(found: Translation, made: Translation) -> None:
    for name in Translation.ARRAYS:
        left, right = getattr(found, name), getattr(made, name)
        assert left.dtype == right.dtype, name
        np.testing.assert_array_equal(left, right, err_msg=name)


def test_stored_translation_is_the_translation_of_the_cached_book(cached):
    folder, source = cached
    assert (folder / FX).is_file()
    book = read_book_cache(folder, source)
    stored = translation(book)
    made = translate_book(
        book.documents, book.receipts, book.applications, book.adjustments, book.fx_rates, book.entity_currency
    )
    _assert_same_translation(stored, made)
    assert any(a != b for a, b in zip(made.doc_functional, book.documents["currency"], strict=True))  # foreign lines


def test_book_as_of_shares_the_derived_values(cached):
    folder, source = cached
    book = read_book_cache(folder, source)
    as_of = book_as_of(book, pd.Timestamp("2026-10-31"))
    assert as_of is not book  # the demo book has a customer history
    assert translation(as_of) is translation(book)
    assert links(as_of) is links(book)


def test_derived_values_are_not_shared_when_a_frame_differs(cached):
    folder, source = cached
    book = read_book_cache(folder, source)
    translation(book)
    other = read_book_cache(folder, source)  # equal frames, but not the same objects
    assert translation(other) is not translation(book)
    _assert_same_translation(translation(other), translation(book))


def test_entity_read_keeps_that_entitys_rows(cached):
    folder, source = cached
    whole = read_book_cache(folder, source)
    entity = whole.entities[0]
    one = read_book_cache(folder, source, entities=[entity])
    assert one.entity_currency == {entity: whole.entity_currency[entity]}
    docs = whole.documents[whole.documents["entity"] == entity].reset_index(drop=True)
    pd.testing.assert_frame_equal(one.documents, docs)
    for name in ("receipts", "gl_journal", "gl_balances"):
        frame = whole.tables[name]
        pd.testing.assert_frame_equal(one.tables[name], frame[frame["entity"] == entity].reset_index(drop=True))
    apps = whole.applications[whole.applications["target_id"].isin(docs["document_id"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(one.applications, apps)
    acts = whole.activities
    mine = (acts["document_id"] == "") | acts["document_id"].isin(docs["document_id"])
    pd.testing.assert_frame_equal(one.activities, acts[mine].reset_index(drop=True))
    pd.testing.assert_frame_equal(one.customers, whole.customers)
    assert len(one.documents) < len(whole.documents)
    # row links of the slice are made from the slice, not taken from the whole book's cache
    made = Links(one)
    for name in Links.NAMES:
        np.testing.assert_array_equal(links(one).get(name), made.get(name))


def test_fx_file_codes_the_functional_currencies_and_the_hashes_are_of_the_bytes_written(cached):
    import hashlib
    import json

    folder, source = cached
    arrays = cachefiles.read_arrays(cachefiles.mapped(folder / FX))
    assert arrays["doc_functional"].dtype == np.int8 and arrays["rec_functional"].dtype == np.int8
    currencies = list(arrays["functional_currencies"])
    assert currencies == sorted(currencies) and len(currencies) == len(set(currencies)) >= 2
    book = read_book_cache(folder, source)
    fx = translation(book)
    # back to text, one string object per currency (not one per row)
    assert fx.doc_functional.dtype == object and len({id(v) for v in fx.doc_functional}) == len(set(fx.doc_functional))
    assert set(fx.doc_functional) <= set(currencies)
    recorded = json.loads((folder / "hashes.json").read_text())["files"]
    assert recorded == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.name != "hashes.json"
    }


def test_arrays_files_read_back_what_was_written(tmp_path):
    """Arrays of different lengths and dtypes in one file: the same values and dtypes back,
    writable (copied out of the mapping), empty arrays included; the sha256 is of the bytes on
    disk, and writing the same arrays again gives the same bytes."""
    arrays = {
        "positions": np.array([3, -1, 0, 2**40], dtype="int64"),
        "codes": np.array([0, 1, 1], dtype="int8"),
        "rates": np.array([1.25, np.nan, 0.1], dtype="float64"),
        "empty": np.zeros(0, dtype="int64"),
        "currencies": np.array(["EUR", "USD"], dtype=str),
    }
    sha = cachefiles.write_arrays(tmp_path / "a.ipc", {**arrays, "absent": None})
    assert sha == hashlib.sha256((tmp_path / "a.ipc").read_bytes()).hexdigest()
    assert cachefiles.write_arrays(tmp_path / "b.ipc", arrays) == sha
    found = cachefiles.read_arrays(cachefiles.mapped(tmp_path / "a.ipc"))
    assert list(found) == list(arrays)
    for name, values in arrays.items():
        assert found[name].dtype == values.dtype, name
        np.testing.assert_array_equal(found[name], values)
    found["positions"][0] = 7  # a copy: the file is untouched
    np.testing.assert_array_equal(
        cachefiles.read_arrays(cachefiles.mapped(tmp_path / "a.ipc"))["positions"], arrays["positions"]
    )


def test_cached_links_are_the_links_of_the_cached_book(cached):
    folder, source = cached
    assert (folder / LINKS).is_file()
    book = read_book_cache(folder, source)
    assert set(links(book)._values) == set(Links.NAMES)  # read from the file, not made again
    made = Links(book)
    for name in Links.NAMES:
        stored = links(book).get(name)
        assert stored.dtype == made.get(name).dtype and stored.flags.writeable, name
        np.testing.assert_array_equal(stored, made.get(name), err_msg=name)


def test_the_cache_layout_is_in_its_key():
    source = (Path(cache.__file__)).read_text(encoding="utf-8")
    # layout 6: the links and translation as mapped Arrow IPC files too; a layout-5 cache (.npz) has another key
    assert '{"layout": 6,' in source and cache.TABLE_SUFFIX == ".arrow"


def test_the_cached_tables_are_the_loaded_frames(demo_source, cached):
    """Every table read back from its mapped Arrow file equals the validated frame: values,
    dtypes (text stays pandas' ``str``, money int64, dates datetime64) and column order; its
    numbers can be changed in place (copied out of the mapping), as a frame read from Parquet's."""
    folder, source = cached
    loaded = load_book(demo_source)
    book = read_book_cache(folder, source)
    assert sorted(book.tables) == sorted(loaded.tables)
    for name, frame in loaded.tables.items():
        pd.testing.assert_frame_equal(book.tables[name], frame, check_exact=True, obj=name)
        assert sorted(p.name for p in folder.glob(f"{name}.*")) == [f"{name}.arrow"]
    docs = read_book_cache(folder, source).documents  # a frame of its own, changed in place
    docs.loc[docs.index[0], ["amount", "document_date", "reference"]] = [1, pd.Timestamp("2020-01-01"), "edited"]
    assert docs.iloc[0][["amount", "document_date", "reference"]].tolist() == [1, pd.Timestamp("2020-01-01"), "edited"]
    assert book.documents.iloc[0]["reference"] == loaded.documents.iloc[0]["reference"]


def test_the_same_book_gives_the_same_bytes(demo_source, cached, tmp_path):
    folder, _ = cached
    again = write_book_cache(load_book(demo_source), tmp_path / "again")
    for path in folder.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_table_is_mapped_and_hashed_where_it_is_read(cached, tmp_path):
    """The notebook hashes the bytes it maps: a copy of the cache with one table changed (and its
    own hashes.json left as it was) is refused, naming the file."""
    import shutil

    from closelib.errors import CacheError

    folder, source = cached
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    os_path = copy / "receipts.arrow"
    os_path.chmod(0o644)
    data = bytearray(os_path.read_bytes())
    data[-100] ^= 1
    os_path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=r"receipts\.arrow changed"):
        read_book_cache(copy, source)
