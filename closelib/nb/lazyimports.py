"""Lazy stand-ins for modules that cost a lot to import and are almost never used.

jsonschema (imported by nbformat, which every notebook process and kernel uses to read and
write notebooks) imports ``rfc3987_syntax`` at its own import, to check the ``iri`` formats;
that module builds a Lark grammar when imported, 0.7 to 2 s of CPU in each process. Notebook
validation never checks an ``iri`` format, so the grammar is not needed. The stand-in put in
``sys.modules`` here hands jsonschema a function that imports the real module on first call,
so nothing changes when it *is* used, and nothing is paid when it is not.

This is the one guard against that grammar. ``closelib.nb`` installs it on import, before
anything of it imports nbformat, so it covers the notebook processes of a run (their entry,
:mod:`closelib.runner.worker`, imports ``closelib.nb`` first), the kernels and any other process
that reads notebooks through closelib. A stand-in rather than marking the module absent: absent
would serve only the processes that mark it, and would drop jsonschema's ``iri`` check where a
stand-in keeps it, at the same memory (neither ``rfc3987_syntax.syntax_helpers`` nor ``lark`` is
imported until an ``iri`` is checked).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

LAZY = "rfc3987_syntax"


class _LazyModule(types.ModuleType):
    """Stands in ``sys.modules`` for ``name`` until anything of it is used, then is replaced
    by the real module (whose attribute is returned)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__closelib_lazy__ = True

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute.endswith("__"):
            # other probing (``__file__``, ``__wrapped__``...): not a use of the module
            raise AttributeError(attribute)
        if attribute == "is_valid_syntax":
            # what jsonschema takes at its import: a function that loads the module when called
            return _deferred(self.__name__, attribute)
        return getattr(load(self.__name__), attribute)


def _deferred(module: str, attribute: str):
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(load(module), attribute)(*args, **kwargs)

    call.__name__ = attribute
    call.__qualname__ = f"{module}.{attribute} (loaded on first call)"
    return call


def load(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if only the stand-in was there."""
    current = sys.modules.get(name)
    if current is not None and not getattr(current, "__closelib_lazy__", False):
        return current
    sys.modules.pop(name, None)
    try:
        return importlib.import_module(name)
    except BaseException:
        sys.modules.setdefault(name, current if current is not None else _LazyModule(name))
        raise


def install() -> None:
    """Put the stand-in in place, unless the real module is already imported (then nothing to
    save) or is not installed (then jsonschema's own ``ImportError`` path must run unchanged)."""
    if LAZY in sys.modules:
        return
    from importlib.util import find_spec

    spec = find_spec(LAZY)
    if spec is None:
        return
    stand_in = _LazyModule(LAZY)
    stand_in.__spec__ = spec  # find_spec() of a module in sys.modules returns its __spec__
    if spec.submodule_search_locations is not None:  # a package: its submodules import as usual
        stand_in.__path__ = list(spec.submodule_search_locations)
    sys.modules[LAZY] = stand_in
