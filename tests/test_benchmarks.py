"""The benchmark package runs and writes its table; it times nothing here (benchmarks are not tests)."""

import subprocess
import sys

from closelib.paths import REPO_ROOT

REPO = REPO_ROOT
sys.path.insert(0, str(REPO))  # benchmarks/ is a package of the repository, not of closelib

from benchmarks import measure  # noqa: E402
from benchmarks.bench import render  # noqa: E402


def test_help_runs():
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0
    assert "--quick" in done.stdout


def test_measure_reports_the_step_result():
    m = measure.run([sys.executable, "-c", 'print(\'{"seconds": 0.5, "rows": 3}\')'])
    assert m.returncode == 0
    assert m.result() == {"seconds": 0.5, "rows": 3}
    assert m.max_rss > 0


def test_render_table():
    rows = [
        {
            "step": "floor: raw read, parquet (pyarrow)",
            "seconds": 1.0,
            "wall": 2.0,
            "cpu": 1.5,
            "max_rss": 2**30,
            "peak_tree_rss": 2**30,
            "floor": None,
            "target": "",
            "note": "",
            "detail": {"seconds": 1.0},
            "ratio": None,
        },
        {
            "step": "load + validate (parquet)",
            "seconds": 2.5,
            "wall": 3.0,
            "cpu": 2.9,
            "max_rss": 2**29,
            "peak_tree_rss": None,
            "floor": "floor: raw read, parquet (pyarrow)",
            "target": "< 3x floor",
            "note": "",
            "detail": {"seconds": 2.5, "documents": 10},
            "ratio": 2.5,
        },
    ]
    info = {
        "cpu": "test cpu",
        "cores": 2,
        "ram_gib": 4.0,
        "python": "3.11",
        "pandas": "3",
        "pyarrow": "26",
        "numpy": "2",
        "os": "linux",
    }
    text = render([{"scale": 2.5, "documents": 10, "rows": rows}], info, "python -m benchmarks", "now")
    assert "| load + validate (parquet) | 2.500 |" in text
    assert "| 2.50 | < 3x floor |" in text
    assert "1.00 GiB" in text and "test cpu" in text
