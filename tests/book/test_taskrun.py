"""Validation as tasks on two threads (taskrun) and shared id lookups (idlinks) report exactly
what the one-thread validation reported, in the same order."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closelib.book import taskrun
from closelib.book.currencies import resolve_currencies
from closelib.book.idlinks import IdLinks, find_rows
from closelib.book.load import validate_source
from closelib.book.parse import Collector, check_header, parse_table
from closelib.book.reading import find_tables, read_one
from closelib.book.rules import check_all
from closelib.book.schema import TABLES
from closelib.book.taskrun import Task, run_tasks
from tests.conftest import MINI, write_source


def _flag(file: str, column: str, rows: list[int], n: int = 4) -> Task:
    def run(out: Collector) -> None:
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        out.rows(file, mask, column, "rule", f"{file} {column}")

    return Task(f"{file}.{column}", run)


def test_problems_come_in_listed_order_whichever_task_finishes_first():
    second_done = threading.Event()

    def first(out: Collector) -> None:
        assert second_done.wait(10)  # the second task (on the other thread) finishes first
        out.add("a.csv", 2, "x", "first", "first")

    def second(out: Collector) -> None:
        out.add("b.csv", 2, "y", "second", "second")
        second_done.set()

    base = Collector()
    base.add("z.csv", None, None, "reading", "before any task")
    _, joined = run_tasks([Task("first", first), Task("second", second)], base, workers=2)
    assert [p.rule for p in joined.problems] == ["reading", "first", "second"]


def test_a_task_sees_the_flags_of_the_tasks_it_runs_after_and_the_joined_collector_all():
    seen: dict[str, list[bool]] = {}

    def reader(out: Collector) -> None:
        seen["reader"] = out.flagged("f.csv", "amount", 4).tolist()

    tasks = [_flag("f.csv", "amount", [1]), Task("reader", reader, ("f.csv.amount",)), _flag("g.csv", "id", [0, 3])]
    results, joined = run_tasks(tasks, Collector(), workers=2, report_order=["g.csv.id", "f.csv.amount", "reader"])
    assert seen["reader"] == [False, True, False, False]
    assert joined.flagged("g.csv", "id", 4).tolist() == [True, False, False, True]
    assert [p.file for p in joined.problems] == ["g.csv", "g.csv", "f.csv"]  # report_order, not listed order
    assert set(results) == {"f.csv.amount", "reader", "g.csv.id"}


def test_one_worker_runs_in_the_calling_thread_with_the_same_result():
    threads = []
    tasks = [
        _flag("f.csv", "amount", [0]),
        Task("who", lambda out: threads.append(threading.current_thread())),
    ]
    _, one = run_tasks(tasks, Collector(), workers=1)
    _, two = run_tasks(tasks, Collector(), workers=2)
    assert threads[0] is threading.main_thread() and threads[1] is not threading.main_thread()
    assert one.problems == two.problems


def test_a_bug_in_a_task_is_raised_not_collected():
    def broken(out: Collector) -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run_tasks([Task("broken", broken), _flag("f.csv", "x", [0])], Collector(), workers=2)


@pytest.mark.parametrize(
    "tasks",
    [
        [Task("a", lambda out: None, ("nowhere",))],
        [Task("a", lambda out: None), Task("a", lambda out: None)],
        [Task("a", lambda out: None, ("b",)), Task("b", lambda out: None, ("a",))],
    ],
    ids=["unknown", "repeated", "cycle"],
)
def test_a_wrong_plan_is_refused(tasks):
    with pytest.raises(ValueError):
        run_tasks(tasks, Collector(), workers=2)


def test_find_rows_first_row_and_missing_target():
    docs = pd.DataFrame({"document_id": pd.Series(["D1", "D2", "D1"], dtype="str")})
    keys = pd.Series(["D1", "X", "D2", ""], dtype="str")
    assert find_rows(keys, docs, "document_id").tolist() == [0, -1, 1, -1]
    assert find_rows(keys, None, "document_id").tolist() == [-1, -1, -1, -1]
    links = IdLinks({"documents": docs})
    first = links.rows("applications", "target_id", keys, "documents")
    assert links.rows("applications", "target_id", keys, "documents") is first  # found once


def test_rows_unless_looks_up_only_what_the_first_table_lacks():
    docs = pd.DataFrame({"document_id": pd.Series(["D1", "R1", "D2"], dtype="str")})
    receipts = pd.DataFrame({"receipt_id": pd.Series(["R1", "D2"], dtype="str")})
    sources = pd.Series(["R1", "D1", "D2", "X", "D1"], dtype="str")
    targets = pd.Series(["D2", "R1", "Y"], dtype="str")
    for together in (False, True):
        links = IdLinks({"documents": docs, "receipts": receipts})
        if together:  # with the targets, in one lookup
            columns = {"source_id": sources, "target_id": targets}
            links.find_together("applications", columns, "documents", unless={"source_id": "receipts"})
        unless = links.rows_unless("applications", "source_id", sources, "documents", "receipts")
        assert links.rows("applications", "source_id", sources, "receipts").tolist() == [0, -1, 1, -1, -1]
        assert unless.tolist() == [-1, 0, -1, -1, 0]  # R1 and D2 are receipts: not looked up
        assert links.rows_unless("applications", "source_id", sources, "documents", "receipts") is unless
        # rows() still answers every cell: the partial answer is kept under its own key
        assert links.rows("applications", "source_id", sources, "documents").tolist() == [1, 0, 2, -1, 0]
        assert links.rows("applications", "target_id", targets, "documents").tolist() == [2, 1, -1]


# --------------------------------------------------------------- against the sequential path


def _sequential_problems(source: Path) -> list:
    """The validation as it was before tasks and shared lookups: one table after another,
    each lookup on its own, then every rule in order."""
    out, reading = Collector(), Collector()
    frames: dict[str, pd.DataFrame] = {}
    read: dict[str, str] = {}
    for name, path in find_tables(source, reading).items():
        raw = read_one(path, name, reading)
        if raw is None:
            continue
        read[name] = path.name
        if check_header(TABLES[name], raw, path.name, out):
            frames[name] = parse_table(TABLES[name], raw, path.name, out, resolve_currencies(name, raw, frames))
    out.problems[:0] = reading.problems
    check_all(frames, read, out)
    return out.problems


IDS = ["R1", "R2", "D1", "D2", "D3", "D4", "D5", "X9", ""]
APPLICATION = st.fixed_dictionaries(
    {
        "source_id": st.sampled_from(IDS),
        "target_id": st.sampled_from(IDS),
        "amount": st.sampled_from(["10.00", "600.00", "2000.00", "0", "-5.00", "1.234", "x"]),
        "applied_date": st.sampled_from(["2026-07-01", "2026-09-10", "2026-10-31"]),
    }
)
# Repeated ids: a receipt named like a document, a document given twice (once as a CM).
TWISTS = st.lists(
    st.sampled_from(["receipt_D3", "receipt_D2_jpy", "receipt_R1_again", "doc_D1_as_cm", "doc_D2_again", "usd_eur"])
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(APPLICATION, min_size=1, max_size=8), TWISTS)
def test_threads_and_shared_lookups_report_what_the_sequential_path_reports(tmp_path_factory, apps, twists):
    tables = copy.deepcopy(MINI)
    receipt, document = tables["receipts"][0], tables["documents"][0]
    if "receipt_D3" in twists:
        tables["receipts"].append({**receipt, "receipt_id": "D3", "amount": "40.00"})
    if "receipt_D2_jpy" in twists:  # a receipt id wins over a document id: its currency is the amount's
        tables["receipts"].append({**receipt, "receipt_id": "D2", "currency": "JPY", "amount": "900"})
    if "receipt_R1_again" in twists:
        tables["receipts"].append({**receipt, "amount": "7.00"})
    if "doc_D1_as_cm" in twists:
        tables["documents"].append({**document, "doc_type": "CM", "amount": "-20.00"})
    if "doc_D2_again" in twists:
        tables["documents"].append({**tables["documents"][1], "amount": "3.00"})
    if "usd_eur" in twists:
        tables["documents"][1]["currency"] = "EUR"
    tables["applications"] = [{"application_id": f"A{i}", **row} for i, row in enumerate(apps)]
    promise = {"activity_id": "T1", "customer_id": "C001", "document_id": "D2", "activity_date": "2026-10-01"}
    promise |= {"type": "promise_to_pay", "promised_date": "2026-10-20", "promised_amount": "12.345"}
    call = {"activity_id": "T2", "customer_id": "C404", "document_id": "X9", "activity_date": "2026-10-01"}
    call |= {"type": "call", "promised_date": "", "promised_amount": ""}
    tables["activities"] = [{**promise, "user": "ana", "note": ""}, {**call, "user": "ana", "note": ""}]
    source = write_source(tmp_path_factory.mktemp("book"), tables)
    assert validate_source(source) == _sequential_problems(source)


def test_the_mini_book_validates_the_same_on_one_thread(mini_source, monkeypatch):
    two = validate_source(mini_source)
    monkeypatch.setattr(taskrun, "WORKERS", 1)
    assert validate_source(mini_source) == two == _sequential_problems(mini_source)


LINK_IDS = st.lists(st.sampled_from(["D1", "D2", "R1", "R2", "X", ""]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(LINK_IDS, LINK_IDS, LINK_IDS, LINK_IDS)
def test_found_together_as_found_alone(doc_ids, receipt_ids, source_ids, target_ids):
    docs = pd.DataFrame({"document_id": pd.Series(doc_ids, dtype="str")})
    receipts = pd.DataFrame({"receipt_id": pd.Series(receipt_ids, dtype="str")})
    sources, targets = pd.Series(source_ids, dtype="str"), pd.Series(target_ids, dtype="str")
    links = IdLinks({"documents": docs, "receipts": receipts})
    columns = {"source_id": sources, "target_id": targets}
    links.find_together("applications", columns, "documents", unless={"source_id": "receipts"})
    in_receipts = find_rows(sources, receipts, "receipt_id")
    expected = np.where(in_receipts >= 0, -1, find_rows(sources, docs, "document_id"))
    found = links.rows_unless("applications", "source_id", sources, "documents", "receipts")
    assert found.tolist() == expected.tolist()
    expected_targets = find_rows(targets, docs, "document_id").tolist()
    assert links.rows("applications", "target_id", targets, "documents").tolist() == expected_targets
