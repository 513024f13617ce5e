"""One exception base: every exception class closelib defines derives from CloseError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import closelib
from closelib.errors import CloseError, ExtractReadError, ParameterError, RatingBandError, RecordError


def _closelib_modules() -> list:
    """Every module of the package, imported (``__main__`` would run the CLI, so it is skipped)."""
    names = [m.name for m in pkgutil.walk_packages(closelib.__path__, prefix="closelib.")]
    return [closelib] + [importlib.import_module(n) for n in names if not n.endswith("__main__")]


def test_every_exception_class_in_closelib_derives_from_close_error():
    found = {
        f"{cls.__module__}.{cls.__qualname__}": cls
        for module in _closelib_modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__.startswith("closelib")
    }
    assert {"closelib.errors.RecordError", "closelib.errors.ExtractReadError", "closelib.money.MoneyError"} <= set(
        found
    )
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, CloseError))
    assert strays == [], f"exception classes outside the CloseError hierarchy: {strays}"


def test_moved_exceptions_keep_their_messages_and_kinds():
    assert str(ExtractReadError("orders.csv is empty (no header row)")) == "orders.csv is empty (no header row)"
    assert str(RecordError("figure 'x.y' recorded twice with different values")).startswith("figure 'x.y'")
    assert isinstance(RecordError("bad"), ValueError)  # as before the move, for callers catching ValueError
    error = RatingBandError(0, ["1-4", "5-10"])
    assert isinstance(error, ParameterError) and error.problems == ["rating 0 is in none of the rating bands 1-4, 5-10"]
