"""Safe names for ids from data: inside their folder, unique, bounded, deterministic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from closelib.errors import UnsafePathError
from closelib.nb.record import Recorder
from closelib.safenames import HASH_CHARS, MAX_SLUG, inside, safe_name, safe_names

HOSTILE_IDS = [
    "with space",
    "a/b/c",
    "../../../../x",
    "/etc/passwd",
    "C:\\Windows\\x",
    "Ünïcödé 客户",
    "-rf",
    "--help",
    "x" * 300,
    "..",
    ".",
    "",
    "NUL",
    "<script>alert(1)</script>",
    "tab\there",
    "dotted.id",
]
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def test_plain_ids_are_their_own_names():
    for plain in ("C000123", "US01", "a_b", "INV-2026-0001", "x" * 64):
        assert safe_name(plain) == plain


@pytest.mark.parametrize("identifier", HOSTILE_IDS)
def test_any_id_gives_a_bounded_name_inside_its_folder(identifier, tmp_path):
    name = safe_name(identifier)
    assert NAME.fullmatch(name), name  # no dot, slash, space, markup or leading dash
    assert len(name) <= MAX_SLUG + 1 + HASH_CHARS
    assert name == safe_name(identifier)  # deterministic: a re-performance writes the same files
    assert inside(tmp_path, f"{name}.ipynb").parent == tmp_path.resolve()


def test_readable_slug_and_hash():
    assert safe_name("with space") == "with_space-" + safe_name("with space").rsplit("-", 1)[1]
    assert safe_name("Ünïcödé 客户").startswith("Unicode-")  # accents dropped, the rest replaced
    assert safe_name("../../../../x").startswith("x-")
    assert safe_name("-rf").startswith("rf-")  # never a leading dash (an option to a shell tool)
    assert len(safe_name("x" * 300)) == MAX_SLUG + 1 + HASH_CHARS


def test_ids_that_slug_alike_or_differ_in_case_get_different_names():
    ids = ["a b", "a/b", "a_b", "A_B", "a  b", "C001", "c001"]
    names = safe_names(ids)
    assert set(names) == set(ids)
    assert len({n.casefold() for n in names.values()}) == len(ids)  # unique even on a case-insensitive disk
    assert names["a_b"] != "a_b" and names["C001"] != "C001"  # a case clash hashes both
    assert safe_names(["C001"]) == {"C001": "C001"}
    assert safe_names(list(reversed(ids))) == names  # the order does not matter


def test_inside_refuses_a_path_out_of_its_folder(tmp_path):
    for name in ("../x", "/tmp/x", "a/../../x", "", "."):
        with pytest.raises(UnsafePathError):
            inside(tmp_path, name)
    with pytest.raises(UnsafePathError):  # the records file of a notebook named from data
        Recorder(tmp_path, "../../escaped")
    assert not (tmp_path.parent / "escaped.jsonl").exists()


def test_the_id_to_file_map_is_read_back_from_the_records(tmp_path: Path):
    from closelib.nb.record import read_file_names, read_records

    rec = Recorder(tmp_path, "credit_review")
    rec.figure("credit.reviews", 1)
    rec.file_names("credit_memos", {"a b": safe_name("a b")})
    assert read_file_names(tmp_path) == {"credit_memos": {"a b": safe_name("a b")}}
    figures, checks, conflicts = read_records(tmp_path)
    assert figures == {"credit.reviews": 1} and not checks and not conflicts
