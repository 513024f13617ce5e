"""``close reperform``: re-execute a run from what it stored and compare (CONTRACT §4).

The new run reads the original's ``inputs/`` (the exact bytes it read, kept in the
content-addressed store, so the live source folder may have changed or gone) with the
parameters the original recorded, into a new folder of the same outputs root whose
manifest says ``reperforms: <run_id>``. Every figure, every check outcome (passed and
detail), the run status and the input hashes are compared; the run re-performs only if
all are identical. Code versions are compared too, and a different git commit, closelib,
Python or package version is reported as a warning (it explains a difference, it is not one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from closelib.audit.binder import refresh_binder
from closelib.errors import RunError
from closelib.runner.run import RunResult, execute_run
from closelib.runner.runfolder import outputs_root, read_manifest

_MISSING = "(absent)"


@dataclass
class Comparison:
    original: dict
    new: dict
    figures: dict = field(default_factory=dict)  # name -> (original, new)
    checks: dict = field(default_factory=dict)  # name -> (original, new) outcome
    inputs: dict = field(default_factory=dict)  # file -> (original sha, new sha)
    status: tuple | None = None
    code_warnings: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not (self.figures or self.checks or self.inputs or self.status)

    def lines(self) -> list[str]:
        o, n = self.original, self.new
        out = [f"re-performance of {o['run_id']} ({o['period']}) as {n['run_id']}"]
        out.append(
            f"  figures: {len(o.get('figures', {}))} original, {len(n.get('figures', {}))} re-performed, "
            f"{len(self.figures)} different"
        )
        for name, (a, b) in self.figures.items():
            out.append(f"    DIFF {name}: {a} -> {b}")
        out.append(
            f"  checks: {len(o.get('checks', {}))} original, {len(n.get('checks', {}))} re-performed, "
            f"{len(self.checks)} different"
        )
        for name, (a, b) in self.checks.items():
            out.append(f"    DIFF {name}: {a} -> {b}")
        if self.inputs:
            for name, (a, b) in self.inputs.items():
                out.append(f"  input {name}: sha256 {a} -> {b}")
        if self.status:
            out.append(f"  status: {self.status[0]} -> {self.status[1]}")
        else:
            out.append(f"  status: {n.get('status')} (as the original)")
        for warning in self.code_warnings:
            out.append(f"  warning: {warning}")
        if not self.code_warnings:
            commit = (n.get("code") or {}).get("git_commit")
            out.append(f"  code: same versions (git {commit})")
        out.append(
            "identical: every figure and check re-performed exactly"
            if self.identical
            else "NOT identical: the differences are listed above"
        )
        return out


def _outcome(check: dict | None):
    if check is None:
        return _MISSING
    return {"passed": check.get("passed"), "detail": check.get("detail")}


def compare_runs(original: dict, new: dict) -> Comparison:
    result = Comparison(original, new)
    fo, fn = original.get("figures") or {}, new.get("figures") or {}
    for name in sorted(set(fo) | set(fn)):
        a, b = fo.get(name, _MISSING), fn.get(name, _MISSING)
        if a != b or type(a) is not type(b):
            result.figures[name] = (a, b)
    co, cn = original.get("checks") or {}, new.get("checks") or {}
    for name in sorted(set(co) | set(cn)):
        a, b = _outcome(co.get(name)), _outcome(cn.get(name))
        if a != b:
            result.checks[name] = (a, b)
    io, inn = original.get("inputs") or {}, new.get("inputs") or {}
    for name in sorted(set(io) | set(inn)):
        a, b = (io.get(name) or {}).get("sha256", _MISSING), (inn.get(name) or {}).get("sha256", _MISSING)
        if a != b:
            result.inputs[name] = (a, b)
    if original.get("status") != new.get("status"):
        result.status = (original.get("status"), new.get("status"))
    result.code_warnings = code_differences(original.get("code") or {}, new.get("code") or {})
    return result


def code_differences(a: dict, b: dict) -> list[str]:
    warnings = []
    if a.get("git_commit") != b.get("git_commit"):
        warnings.append(f"git commit differs: original {a.get('git_commit')}, re-performed {b.get('git_commit')}")
    if a.get("git_dirty") or b.get("git_dirty"):
        warnings.append(
            f"uncommitted changes to tracked files (original dirty={a.get('git_dirty')}, "
            f"re-performed dirty={b.get('git_dirty')}): the commit alone does not identify the code"
        )
    for key in ("closelib", "python"):
        if a.get(key) != b.get(key):
            warnings.append(f"{key} version differs: {a.get(key)} -> {b.get(key)}")
    pa, pb = a.get("packages") or {}, b.get("packages") or {}
    changed = [f"{p} {pa.get(p)} -> {pb.get(p)}" for p in sorted(set(pa) | set(pb)) if pa.get(p) != pb.get(p)]
    if changed:
        warnings.append("package versions differ: " + ", ".join(changed))
    return warnings


def reperform_run(
    run_dir: Path,
    *,
    notebooks_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    status: Callable[[dict[str, float], tuple[int, int] | None], None] | None = None,
) -> tuple[RunResult, Comparison]:
    """Execute ``run_dir`` again from its stored inputs and parameters; compare the two."""
    run_dir = Path(run_dir)
    original = read_manifest(run_dir)
    if original.get("status") not in ("succeeded", "failed"):
        raise RunError(f"run {original['run_id']} has not finished (status {original.get('status')})")
    if not original.get("parameters") or not original.get("inputs"):
        raise RunError(
            f"run {original['run_id']} failed before it recorded its parameters and inputs "
            f"({original.get('error')}); there is nothing to re-perform"
        )
    inputs = run_dir / "inputs"
    missing = [name for name in original["inputs"] if not (inputs / name).is_file()]
    if missing:
        raise RunError(
            f"run {original['run_id']} is missing stored inputs {', '.join(missing)}; "
            f"see `close verify {original['run_id']}`"
        )
    result = execute_run(
        original["period"],
        source=inputs,
        parameters=original["parameters"],
        reperforms=original["run_id"],
        outputs=outputs_root(run_dir),
        notebooks_dir=notebooks_dir,
        progress=progress,
        status=status,
    )
    _, problem = refresh_binder(result.run_dir, result.manifest["period"])
    if problem:
        result.messages.append(problem)
    return result, compare_runs(original, result.manifest)
