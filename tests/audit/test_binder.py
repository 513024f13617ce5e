"""Issue 18 point 5: the period binder is the first page a reviewer opens, and stays short.

Seven run folders are written by hand (a manifest each, the files it links): the binder reads
nothing else, so no notebook has to run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from closelib.audit.binder import current_run, entity_closes_of_record, render_period

PERIOD = "2026-10"
COMPANY = "Acme <Hosting> & Co"
# Notebooks in the order they finished, not the order a reviewer reads them.
FINISHED = ("collections", "tb_recon", "credit_review", "write_off", "reserve")
FILES = {
    "tb_recon": "01_tb_recon",
    "reserve": "02_reserve",
    "write_off": "03_write_off",
    "credit_review": "04_credit_review",
    "collections": "05_collections",
}


def run_id(n: int) -> str:
    return f"202611{n:02d}T090000000000Z-00000{n}"


def write_run(outputs: Path, n: int, status: str = "succeeded", **extra) -> Path:
    folder = outputs / PERIOD / run_id(n)
    (folder / "inputs").mkdir(parents=True)
    (folder / "inputs" / "entities.csv").write_text(
        "entity,name,functional_currency,country\nSG01,Sing,SGD,SG\nUS01,Us,USD,US\nJP01,Jp,JPY,JP\n"
    )
    notebooks = {}
    for name in FINISHED:
        (folder / f"{FILES[name]}.html").write_text("<html></html>")
        notebooks[name] = {"file": f"{FILES[name]}.ipynb", "html": f"{FILES[name]}.html", "status": "succeeded"}
    manifest = {
        "period": PERIOD,
        "run_id": run_id(n),
        "status": status,
        "started_at": f"2026-11-{n:02d}T09:00:00.000Z",
        "finished_at": f"2026-11-{n:02d}T09:05:00.000Z",
        "restates": None,
        "reason": None,
        "reperforms": None,
        "error": None,
        "parameters": {"company": COMPANY},
        "notebooks": notebooks,
        "figures": {
            "tb.SG01.subledger_ar": "629139.50",
            "tb.US01.subledger_ar": "1112743.45",
            "tb.JP01.subledger_ar": "1234567",
            "reserve.US01.true_up": "-5936.95",
            "write_off.count": 9,
            "kpi.US01.dso": 30.05,
            "kpi.US01.past_due_ratio": 0.1667,
        },
        "checks": {"tb.US01.unexplained_within_tolerance": {"passed": True, "detail": "ok", "severity": "error"}},
    } | extra
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


FAILED_CHECK = {"passed": False, "detail": "off by 10.00", "severity": "error"}


@pytest.fixture
def seven(tmp_path: Path) -> Path:
    outputs = tmp_path / "out"
    write_run(outputs, 1)
    failed = write_run(
        outputs,
        2,
        "failed",
        error="check failed: tb.US01.unexplained_within_tolerance",
        checks={"tb.US01.unexplained_within_tolerance": FAILED_CHECK},
    )
    failed_nb = json.loads((failed / "manifest.json").read_text())
    failed_nb["notebooks"]["reserve"] |= {"status": "failed", "error": "cell 5: KeyError: 'x'"}
    (failed / "manifest.json").write_text(json.dumps(failed_nb))
    early = write_run(
        outputs,
        3,
        "failed",
        error="invalid parameters:\n  - gl.recon_tolerance: 'abc' is not a decimal number",
        problems=["gl.recon_tolerance: 'abc' is not a decimal number"],
        parameters=None,  # a run that failed on its parameters records none
    )
    (early / "errors.txt").write_text("invalid parameters\n")
    write_run(outputs, 4, restates=run_id(1), reason="late credit memo booked")
    write_run(outputs, 5, reperforms=run_id(4))
    write_run(outputs, 6, restates=run_id(4), reason="FX rate corrected")
    write_run(outputs, 7, "failed", error="interrupted by SIGTERM", parameters=None)
    (outputs / PERIOD / "signoffs.jsonl").write_text(
        json.dumps({"run_id": run_id(6), "role": "preparer", "name": "Ana", "manifest_sha256": "0" * 64}) + "\n"
    )
    return outputs


def test_the_binder_opens_on_the_current_run(seven):
    page = render_period(seven, PERIOD)
    assert "Acme &lt;Hosting&gt; &amp; Co" in page and "<title>Acme &lt;Hosting&gt; &amp; Co - AR close 2026-10" in page
    # the run table first, newest first, with who signed and what restates what
    table = page[page.index("<h2>Runs</h2>") : page.index("Current run:")]
    rows = re.findall(r'<tr class="[^"]*"><td><a href="#([^"]+)"', table)
    assert rows == [run_id(n) for n in (7, 6, 5, 4, 3, 2, 1)]
    assert "preparer: Ana" in table and "(void: manifest changed)" in table
    assert f'restated by <a href="#{run_id(4)}">' in table and "FX rate corrected" in table
    assert f're-performs <a href="#{run_id(4)}">' in table
    # the current run: the newest succeeded that no later run restates (7 failed; 6 restates 4)
    assert current_run([(Path(), {"run_id": run_id(n), "status": "succeeded"}) for n in (6, 5)]) == run_id(6)
    # a re-performance checks a run; it is not the close of record unless nothing else succeeded
    reperformed = [
        (Path(), {"run_id": "R", "status": "succeeded", "reperforms": "A"}),
        (Path(), {"run_id": "A", "status": "succeeded"}),
    ]
    assert current_run(reperformed) == "A" and current_run(reperformed[:1]) == "R"
    assert current_run([(Path(), {"run_id": "B", "status": "failed", "restates": "A"}), reperformed[1]]) == "A"
    current = page[page.index("Current run:") : page.index("Other runs")]
    assert run_id(6) in current.split("</h2>")[0]
    # workpapers in notebook order, whatever order they finished in
    labels = re.findall(r">(AR-\d [^<]+)</a>", current)
    assert labels == [
        "AR-1 TB reconciliation",
        "AR-2 Bad-debt reserve",
        "AR-3 Write-off",
        "AR-4 Credit review",
        "AR-5 Collections",
    ]
    # key figures by workpaper and entity, in currency, never a raw manifest value
    for shown in ("629,139.50 SGD", "1,112,743.45 USD", "1,234,567 JPY", "-5,936.95 USD", "30.05 days", "16.67%"):
        assert shown in current, shown
    assert "1112743.45" not in page and "0.1667" not in page
    assert current.index("AR-1 TB reconciliation</th>") < current.index("AR-2 Bad-debt reserve</th>")


def test_failed_runs_are_one_line_with_their_errors_and_older_runs_fold(seven):
    page = render_period(seven, PERIOD)
    other = page[page.index("Other runs") :]
    failed = other[other.index(f'id="{run_id(2)}"') :].split("</section>")[0]
    errors = re.findall(r"<li>([^<]+)</li>", failed.split("</ul>")[0])
    assert errors == [
        "check failed: tb.US01.unexplained_within_tolerance",
        "AR-2 Bad-debt reserve: cell 5: KeyError: &#x27;x&#x27;",
        "check tb.US01.unexplained_within_tolerance: off by 10.00",
    ]
    early = other[other.index(f'id="{run_id(3)}"') :].split("</section>")[0]
    assert re.findall(r"<li>([^<]+)</li>", early) == [
        "invalid parameters",
        "gl.recon_tolerance: &#x27;abc&#x27; is not a decimal number",
    ]
    assert f'href="{run_id(3)}/errors.txt"' in early and f'href="{run_id(2)}/errors.txt"' not in failed
    # one open section, the current run; every other run folded
    assert page.count('<section class="run succeeded"') == 1
    assert page.count('<details class="run') == 3  # runs 5, 4 and 1; failed runs are one line each
    assert page.count('<section class="run failed"') == 3


def test_an_entity_close_shows_its_figures_under_its_entity_in_its_currency(tmp_path):
    """An entity close records plain names (CONTRACT §3) against a group's stored inputs: its key
    figures are that entity's, in its currency, not an 'all entities' total the binder cannot
    put a currency to (which hid every money figure, the TB reconciliation's among them)."""
    figures = {"tb.subledger_ar": "629139.50", "tb.unexplained": "0.00", "reserve.true_up": "-12.50", "kpi.dso": 41.2}
    write_run(tmp_path, 1, parameters={"company": COMPANY, "entities": ["SG01"]}, figures=figures)
    page = render_period(tmp_path, PERIOD)
    current = page[page.index("Current run:") :]
    table = current[current.index("<th>key figure</th>") :]
    table = table[: table.index("</table>")]
    assert re.findall(r'<th class="num">([^<]+)</th>', table) == ["SG01 (SGD)"]
    for shown in ("629,139.50 SGD", "0.00 SGD", "-12.50 SGD", "41.20 days"):
        assert shown in table, shown
    assert "subledger AR" in table and "all entities" not in table and "USD" not in table


def test_a_period_closed_by_entity_names_each_entitys_close_of_record(tmp_path):
    def close(n: int, entities: list[str] | None, **extra) -> None:
        write_run(tmp_path, n, parameters={"company": COMPANY} | ({"entities": entities} if entities else {}), **extra)

    close(1, ["US01"])
    close(2, ["SG01"])
    close(3, ["SG01"], reperforms=run_id(2))  # checks run 2; not a close of record
    close(4, ["US01"], status="failed")  # replaces nothing
    page = render_period(tmp_path, PERIOD)
    intro = page[: page.index("<h2>Runs</h2>")]
    assert "Closed by entity." in intro
    assert f'SG01 <a href="#{run_id(2)}">' in intro and f'US01 <a href="#{run_id(1)}">' in intro
    table = page[page.index("<h2>Runs</h2>") : page.index("Current run:")]
    assert f"{run_id(2)}</a> (current for SG01)" in table and f"{run_id(1)}</a> (current for US01)" in table
    # once a close of the whole group succeeds, it is the close of record
    close(5, None)
    manifests = [
        (Path(), json.loads((tmp_path / PERIOD / run_id(n) / "manifest.json").read_text())) for n in range(5, 0, -1)
    ]
    assert entity_closes_of_record(manifests) == {} and current_run(manifests) == run_id(5)
    assert "Closed by entity." not in render_period(tmp_path, PERIOD)
