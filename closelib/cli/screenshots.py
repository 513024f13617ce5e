"""``make screenshots``: the binder and every reviewer HTML of a run, rendered by headless Chromium.

``python -m closelib.cli.screenshots [--outputs DIR] [--period YYYY-MM] [--run RUN] [--out DIR]``
renders the period binder (``<outputs>/<PERIOD>/index.html``) and each ``.html`` of the run
(the binder's current run by default: the newest that succeeded and is not restated; else the
newest) at 1400 px wide to PNG, one file per page, under ``outputs/scratch/screenshots/<RUN_ID>/``
(``$CLOSE_SCRATCH`` when set). Each page is captured in a tall window and the blank space below
it trimmed, so a PNG shows the whole page as a reviewer scrolls through it.

Needs Debian's ``chromium`` (``$CHROMIUM`` to point elsewhere); run as root it adds
``--no-sandbox``. Not part of ``make test``: it looks, it does not judge.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

WIDTH = 1400
HEIGHT = 16000  # tall enough for the longest workpaper; trimmed afterwards
BACKGROUND_TOLERANCE = 8


def chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def capture(browser: str, page: Path, png: Path, width: int = WIDTH, height: int = HEIGHT) -> str | None:
    """Render ``page`` into ``png``; ``None``, or why it failed."""
    command = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.insert(1, "--no-sandbox")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if not png.is_file():
        return (done.stderr or "no screenshot written").strip().splitlines()[-1]
    trim(png)
    return None


def trim(png: Path) -> None:
    """Cut the blank rows below the page's content (the window is taller than most pages)."""
    from PIL import Image, ImageChops

    with Image.open(png) as image:
        rgb = image.convert("RGB")
    background = Image.new("RGB", rgb.size, rgb.getpixel((rgb.width - 1, rgb.height - 1)))
    box = ImageChops.difference(rgb, background).convert("L").point(lambda v: 255 if v > BACKGROUND_TOLERANCE else 0)
    found = box.getbbox()
    if found:
        rgb.crop((0, 0, rgb.width, min(rgb.height, found[3] + 40))).save(png)


def main(argv: list[str] | None = None) -> int:
    from closelib.audit.binder import INDEX, current_run
    from closelib.errors import CloseError
    from closelib.paths import scratch_outputs
    from closelib.runner.runfolder import all_runs, default_outputs, find_run, read_manifest

    parser = argparse.ArgumentParser(prog="python -m closelib.cli.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=Path, default=None)
    parser.add_argument("--period", default=None, help="YYYY-MM (default: the period of the newest run)")
    parser.add_argument("--run", default=None, help="run id or folder (default: the binder's current run)")
    parser.add_argument("--out", type=Path, default=None, help="where the PNGs go")
    args = parser.parse_args(argv)
    browser = chromium()
    if not browser:
        print("screenshots: error: no chromium found (apt-get install chromium, or set $CHROMIUM)", file=sys.stderr)
        return 1
    outputs = (args.outputs or default_outputs()).resolve()
    try:
        if args.run:
            run_dir = find_run(args.run, outputs)
        else:
            runs = [r for r in all_runs(outputs, args.period) if r.parent.name != "adhoc"]
            if not runs:
                print(f"screenshots: error: no run under {outputs} (make close first)", file=sys.stderr)
                return 1
            period = args.period or read_manifest(runs[-1])["period"]
            newest_first = [(r, read_manifest(r)) for r in reversed(all_runs(outputs, period))]
            chosen = current_run(newest_first)
            run_dir = next((r for r, m in newest_first if m.get("run_id") == chosen), newest_first[0][0])
    except CloseError as exc:
        print(f"screenshots: error: {exc}", file=sys.stderr)
        return 1
    target = (args.out or scratch_outputs() / "screenshots" / run_dir.name).resolve()
    target.mkdir(parents=True, exist_ok=True)
    pages = [(run_dir.parent / INDEX, "00_binder.png")]
    for page in sorted(run_dir.rglob("*.html")):  # memos as credit_memos__<name>.png
        pages.append((page, page.relative_to(run_dir).with_suffix(".png").as_posix().replace("/", "__")))
    failed = 0
    for page, name in pages:
        if not page.is_file():
            continue
        problem = capture(browser, page, target / name)
        print(f"  {'FAILED ' + problem if problem else 'ok'}  {target / name}")
        failed += problem is not None
    print(f"{len(pages) - failed} page(s) rendered at {WIDTH} px into {target}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
