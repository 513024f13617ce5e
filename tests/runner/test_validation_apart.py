"""Validation and the cache write run in a forked child (closelib.runner.apart): what the caller
gets back (a value, a refusal with its problems, a full disk, a bug, a dead child) is what the
call in-process would give, and an interrupted runner leaves no child behind."""

from __future__ import annotations

import errno
import os
import signal
import time
from pathlib import Path

import pytest

from closelib.book.cache import check_book_cache
from closelib.errors import SourceError
from closelib.runner.apart import call_apart
from closelib.runner.bookcache import prepare_book_cache
from closelib.runner.processes import interrupts_raise
from closelib.runner.store import link_inputs
from tests.conftest import write_source


def _refuse(problems: list[str], source: str) -> None:
    raise SourceError(problems, source)


def _full_disk(path: str) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def _bug() -> None:
    raise ZeroDivisionError("division by zero")


def _killed() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _write_pid_and_sleep(path: str) -> None:
    Path(path).write_text(str(os.getpid()))
    time.sleep(60)


def test_the_function_runs_in_another_process_and_its_value_comes_back():
    assert call_apart(os.getpid) != os.getpid()
    assert call_apart(sorted, [3, 1, 2]) == [1, 2, 3]


def test_a_refusal_comes_back_with_its_message_and_problems():
    with pytest.raises(SourceError) as raised:
        call_apart(_refuse, ["documents.csv row 2: bad amount", "receipts.csv is missing"], "/src")
    expected = SourceError(["documents.csv row 2: bad amount", "receipts.csv is missing"], "/src")
    assert str(raised.value) == str(expected)
    assert raised.value.problems == expected.problems and raised.value.exit_code == 1
    assert not getattr(raised.value, "__notes__", None)  # a refusal shows its message alone


def test_a_full_disk_comes_back_as_the_same_os_error():
    with pytest.raises(OSError) as raised:
        call_apart(_full_disk, "/out/books/x")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == "/out/books/x"
    assert raised.value.strerror == os.strerror(errno.ENOSPC)


def test_a_bug_comes_back_as_itself_with_the_childs_traceback():
    with pytest.raises(ZeroDivisionError, match="division by zero") as raised:
        call_apart(_bug)
    assert "_bug" in "\n".join(raised.value.__notes__)


def test_a_child_that_dies_without_reporting_is_an_error_naming_how():
    with pytest.raises(RuntimeError, match="exited with code 3"):
        call_apart(os._exit, 3)
    with pytest.raises(RuntimeError, match="killed by SIGKILL"):
        call_apart(_killed)


def test_an_interrupted_wait_kills_the_child_before_the_interruption_goes_on(tmp_path):
    pid_file = tmp_path / "pid"
    signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with interrupts_raise(), pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            call_apart(_write_pid_and_sleep, str(pid_file))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    child = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped: no process has its pid
        os.kill(child, 0)


def test_the_cache_is_written_by_the_child_with_the_hashes_it_checks(tmp_path, mini_tables):
    source = write_source(tmp_path / "src", mini_tables)
    outputs, run_dir = tmp_path / "out", tmp_path / "out" / "2026-10" / "run1"
    run_dir.mkdir(parents=True)
    hashes = link_inputs(source, outputs, run_dir / "inputs")
    first = prepare_book_cache(run_dir, outputs, hashes, reuse=True, say=lambda line: None)
    assert not first.entry["reused"] and first.rows["documents.csv"] == len(mini_tables["documents"])
    assert check_book_cache(first.folder) == (first.files, None)


def test_a_bad_book_fails_in_the_child_with_every_problem(tmp_path, mini_tables):
    tables = dict(mini_tables)
    tables["documents"] = [dict(r) for r in mini_tables["documents"]]
    tables["documents"][0]["amount"] = "12.345"
    source = write_source(tmp_path / "bad", tables)
    outputs, run_dir = tmp_path / "out", tmp_path / "out" / "2026-10" / "run1"
    run_dir.mkdir(parents=True)
    hashes = link_inputs(source, outputs, run_dir / "inputs")
    with pytest.raises(SourceError) as raised:
        prepare_book_cache(run_dir, outputs, hashes, reuse=True, say=lambda line: None)
    assert any("12.345" in str(p) for p in raised.value.problems) and "12.345" in str(raised.value)
