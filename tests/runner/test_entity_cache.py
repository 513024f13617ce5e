"""An entity close reads a typed cache of its own share of the group (issue 21, point 2).

MINI with D4 (250.50, due 2026-11-04, the latest due date) moved to a second entity SG01: SG01's
share is that one document, not overdue at 2026-10-31; US01's is D1, D2, D3 and D5, all overdue,
the latest due 2026-10-01. The share's cache is cut from the group's checked cache, reused on the
same terms, checked by ``close verify`` (with the group's cache it was cut from) and never read
for another share.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closelib.audit.reperform import reperform_run
from closelib.audit.verify import verify_run
from closelib.book.cache import check_book_cache, read_book_cache
from closelib.errors import CacheError
from closelib.nb import bookload
from closelib.runner.run import execute_run
from tests.conftest import write_source
from tests.runner.test_book_cache import PERIOD, due_notebook, tamper_due_date

SG01 = {"test.documents": 1, "test.overdue": 0, "test.latest_due": "2026-11-04"}
US01 = {"test.documents": 4, "test.overdue": 4, "test.latest_due": "2026-10-01"}


@pytest.fixture
def group_source(tmp_path: Path, mini_tables) -> Path:
    sg01 = {"entity": "SG01", "name": "Mini Pte", "functional_currency": "USD", "country": "SG"}
    mini_tables["entities"].append(sg01)
    for doc in mini_tables["documents"]:
        if doc["document_id"] == "D4":
            doc["entity"] = "SG01"
    return write_source(tmp_path / "group", mini_tables)


@pytest.fixture
def nbs(tmp_path: Path) -> Path:
    return due_notebook(tmp_path / "nbs")


def close(nbs: Path, source: Path, outputs: Path, entity: str):
    lines: list[str] = []
    chosen = [f"entities=[{entity}]"]
    result = execute_run(
        PERIOD, source=source, outputs=outputs, notebooks_dir=nbs, overrides=chosen, progress=lines.append
    )
    assert result.succeeded, result.messages
    return result, lines


def figures(result) -> dict:
    return {name: result.manifest["figures"][name] for name in SG01}


def folders(outputs: Path, result) -> tuple[Path, Path]:
    """The share's cache the run read, and the group's cache it was cut from."""
    entry = result.manifest["book_cache"]
    return outputs / entry["folder"], outputs / entry["sliced_from"]["folder"]


def test_an_entity_close_reads_a_cache_of_its_share(nbs, group_source, tmp_path):
    outputs = tmp_path / "out"
    result, lines = close(nbs, group_source, outputs, "SG01")
    assert figures(result) == SG01
    share, group = folders(outputs, result)
    assert share.name.startswith(f"{group.name}.entities-")
    entry = result.manifest["book_cache"]
    label = f"{PERIOD}/{result.manifest['run_id']}"
    assert entry["written_by"] == entry["sliced_from"]["written_by"] == label
    assert any("writing the typed cache of the share of SG01" in line for line in lines)
    # the share holds SG01's rows only; the group's cache beside it holds both entities'
    assert check_book_cache(share) == (entry["files"], None)
    assert list(read_book_cache(share, group_source).documents["document_id"]) == ["D4"]
    assert len(read_book_cache(group, group_source).documents) == 5
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["book_cache"] == str(share) and info["book_cache_entities"] == ["SG01"]
    assert info["sliced_from"] == {"folder": str(group), "files": entry["sliced_from"]["files"]}
    assert verify_run(result.run_dir) == []


def test_the_share_and_the_group_are_reused_by_later_closes(nbs, group_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = close(nbs, group_source, outputs, "SG01")
    again, lines = close(nbs, group_source, outputs, "SG01")
    assert again.manifest["book_cache"]["reused"] is True
    assert again.manifest["book_cache"]["sliced_from"]["reused"] is True
    assert folders(outputs, again) == folders(outputs, first)
    assert any("reusing the typed cache of the share of SG01" in line for line in lines)
    # another entity reuses the group's cache the first close wrote, and cuts its own share
    other, _ = close(nbs, group_source, outputs, "US01")
    assert figures(other) == US01
    entry = other.manifest["book_cache"]
    assert entry["sliced_from"]["reused"] is True and entry["reused"] is False
    assert entry["sliced_from"]["written_by"] == f"{PERIOD}/{first.manifest['run_id']}"
    assert folders(outputs, other)[1] == folders(outputs, first)[1]
    assert folders(outputs, other)[0] != folders(outputs, first)[0]
    # the whole group's close reuses the group's cache too, and reads every entity
    whole = execute_run(PERIOD, source=group_source, outputs=outputs, notebooks_dir=nbs)
    assert whole.manifest["book_cache"]["reused"] is True and "sliced_from" not in whole.manifest["book_cache"]
    assert whole.manifest["figures"]["test.documents"] == 5
    assert [verify_run(r.run_dir) for r in (first, again, other, whole)] == [[], [], [], []]


def test_a_changed_share_is_reported_by_verify_and_cut_again(nbs, group_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = close(nbs, group_source, outputs, "SG01")
    share, _ = folders(outputs, first)
    tamper_due_date(share)  # D4 due 2026-09-01: SG01 would show 1 overdue
    found = verify_run(first.run_dir)
    assert [m.file for m in found] == [
        f"{first.manifest['book_cache']['folder']}/documents.arrow (typed book cache this run read)"
    ]
    second, lines = close(nbs, group_source, outputs, "SG01")
    assert second.manifest["book_cache"]["rebuilt_because"].startswith("documents.arrow changed (sha256 ")
    assert any("share of SG01 discarded (documents.arrow changed" in line for line in lines)
    assert figures(second) == SG01
    assert verify_run(first.run_dir) == [] and verify_run(second.run_dir) == []  # the same bytes again


def test_a_changed_group_cache_is_reported_for_the_entity_close_cut_from_it(nbs, group_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = close(nbs, group_source, outputs, "SG01")
    _, group = folders(outputs, first)
    tamper_due_date(group, rehash=True)
    found = verify_run(first.run_dir)
    what = "typed book cache of the group this run's was cut from"
    cut_from = first.manifest["book_cache"]["sliced_from"]["folder"]
    assert f"{cut_from}/documents.arrow ({what})" in [m.file for m in found]
    # the next close rebuilds the group's cache from its inputs; the share, unchanged and cut
    # from the same validated bytes, still checks out against its writer's record and is reused
    second, _ = close(nbs, group_source, outputs, "SG01")
    entry = second.manifest["book_cache"]
    assert "not the ones the run that wrote it" in entry["sliced_from"]["rebuilt_because"]
    assert entry["reused"] is True and entry["files"] == first.manifest["book_cache"]["files"]
    assert figures(second) == SG01
    assert verify_run(first.run_dir) == [] and verify_run(second.run_dir) == []


def test_a_reperformance_cuts_its_own_share_from_its_own_cache(nbs, group_source, tmp_path):
    outputs = tmp_path / "out"
    first, _ = close(nbs, group_source, outputs, "SG01")
    result, comparison = reperform_run(first.run_dir, notebooks_dir=nbs)
    assert comparison.identical, comparison.lines()
    new_id = result.manifest["run_id"]
    share, group = folders(outputs, result)
    assert group.name == f"{folders(outputs, first)[1].name}.{new_id}"
    assert share.parent == group.parent and share.name.startswith(f"{group.name}.entities-")
    assert result.manifest["book_cache"]["reused"] is False
    assert verify_run(result.run_dir) == []


def test_a_notebook_refuses_a_share_of_other_entities(nbs, group_source, tmp_path):
    first, _ = close(nbs, group_source, tmp_path / "out", "SG01")
    info = json.loads((first.run_dir / "run.json").read_text())
    bookload.LAST_CACHED.clear()
    assert len(bookload.run_book(first.run_dir / "inputs", info, ["SG01"]).documents) == 1
    bookload.LAST_CACHED.clear()
    with pytest.raises(CacheError, match="holds the share of SG01, not of"):
        bookload.run_book(first.run_dir / "inputs", info, ["US01"])
