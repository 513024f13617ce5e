"""make bench reports a credit memo's own work from the close's logs (it times nothing here)."""

import json
import sys

from closelib.paths import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))  # benchmarks/ is a package of the repository, not of closelib

from benchmarks.memos import memo_row


def test_the_memo_row_leaves_out_each_kernels_first_memo(tmp_path):
    assert memo_row(tmp_path) is None  # no memos ran
    logs = tmp_path / "logs"
    logs.mkdir()
    own = [9.0, 1.0, 3.0, 8.0, 2.0, 4.0]  # two kernels, three memos each: 9.0 and 8.0 start them
    memos = [
        {"file_name": f"C{i}", "status": "succeeded", "seconds": s / 2, "own_seconds": s} for i, s in enumerate(own)
    ]
    (logs / "credit_memos.json").write_text(json.dumps({"kernels": 2, "memos": memos}), encoding="utf-8")
    row = memo_row(tmp_path)
    assert row is not None
    assert row["seconds"] == 2.5  # median of 1, 3, 2, 4
    assert row["detail"]["first_own_seconds"] == [9.0, 8.0]
    assert "first memo of each of 2 kernel(s)" in row["note"] and "9.00, 8.00" in row["note"]
