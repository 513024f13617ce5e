"""Customer ids that are no file names: each memo is produced inside the run folder, nothing outside."""

from __future__ import annotations

import copy
import shutil
import sys
from pathlib import Path

import pytest

from closelib.paths import NOTEBOOKS_DIR
from closelib.runner.run import execute_run
from tests.conftest import MINI, write_source

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="papermill kernels")


def odd_ids(root: Path) -> list[str]:
    return [
        "with space",
        "a/b/c",
        "../../../../x",
        str(root / "abs" / "evil"),  # an absolute path
        "Ünïcödé 客户",
        "--leading-dash",
        "x" * 300,
        "dup id",  # slugs like the next two, which differ only in case
        "dup_id",
        "DUP_ID",
    ]


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("memo_names")
    tables = copy.deepcopy(MINI)
    template_customer = next(c for c in tables["customers"] if c["customer_id"] == "C002")
    template_doc = next(d for d in tables["documents"] if d["document_id"] == "D4")
    for n, cid in enumerate(odd_ids(root)):
        # active and never reviewed: every one of them is due a memo
        tables["customers"].append({**template_customer, "customer_id": cid, "name": f"Odd {n}", "parent_id": ""})
        tables["documents"].append({**template_doc, "document_id": f"ODD{n}", "customer_id": cid})
    source = write_source(root / "book", tables)
    notebooks = root / "nbs"
    notebooks.mkdir()
    shutil.copy(NOTEBOOKS_DIR / "04_credit_review.ipynb", notebooks)
    result = execute_run(
        "2026-10",
        source=source,
        outputs=root / "out",
        notebooks_dir=notebooks,
        overrides=["credit_review.max_memos=20", "credit_review.memo_kernels=1"],
    )
    return root, result


def test_every_odd_id_gets_its_memo_inside_the_run_folder(odd_run):
    root, result = odd_run
    m, run_dir = result.manifest, result.run_dir
    assert m["status"] == "succeeded", (
        {k: v["error"] for k, v in m["notebooks"].items()},
        {k: c["detail"] for k, c in m["checks"].items() if not c["passed"]},
    )
    names = m["file_names"]["credit_memos"]
    for cid in odd_ids(root):
        name = names[cid]
        for suffix in (".ipynb", ".html", ".json"):
            assert (run_dir / "credit_memos" / f"{name}{suffix}").is_file(), cid
            assert f"credit_memos/{name}{suffix}" in m["outputs"]
        # figure and check names carry the same safe name
        assert m["checks"][f"credit.memo.{name}.produced"]["passed"]
        assert isinstance(m["figures"][f"credit.{name}.score"], float)
        assert m["checks"][f"credit.{name}.score_log_adds_up"]["passed"]
    assert len({n.casefold() for n in names.values()}) == len(names)  # unique, even ignoring case
    assert m["figures"]["credit.reviews"] == len(names)


def test_nothing_is_written_outside_the_run_folder(odd_run):
    root, result = odd_run
    allowed = (root / "book", root / "nbs", result.run_dir, root / "out" / ".store")
    outside = [p for p in root.rglob("*") if p.is_file() and not any(a in p.parents for a in allowed)]
    assert outside == []
    assert not (root / "abs").exists() and not (root / "x.ipynb").exists()
