"""A notebook opened by hand (issue 22): empty parameters give the default source, the book's
latest period and that period's parameters; tables display the same way every time."""

from __future__ import annotations

import shutil

import pandas as pd

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
