"""The lazy stand-in for ``rfc3987_syntax``: not loaded by reading, validating and writing
notebooks, loaded (and right) when an ``iri`` format is actually checked."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import sys
import closelib.nb
import nbformat
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
nbformat.validate(nb)
nbformat.reads(nbformat.writes(nb), as_version=4)
print("loaded" if "rfc3987_syntax.syntax_helpers" in sys.modules else "not loaded")
from jsonschema import _format
checker = _format.draft202012_format_checker
print(checker.conforms("http://example.com/a?b#c", "iri"), checker.conforms("::not an iri", "iri"))
print("loaded" if "rfc3987_syntax.syntax_helpers" in sys.modules else "not loaded")
import rfc3987_syntax
print(rfc3987_syntax.is_valid_syntax_iri("http://example.com/"))
"""


def test_notebook_validation_does_not_load_rfc3987_syntax_but_iri_checks_still_work():
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:4] == ["not loaded", "True False", "loaded", "True"]


def test_install_leaves_an_already_imported_module_alone():
    code = (
        "import sys, rfc3987_syntax; real = sys.modules['rfc3987_syntax']; "
        "import closelib.nb; print(sys.modules['rfc3987_syntax'] is real)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def test_a_submodule_import_or_a_spec_lookup_still_works():
    code = (
        "import importlib.util, sys, closelib.nb; "
        "assert importlib.util.find_spec('rfc3987_syntax') is not None; "
        "import rfc3987_syntax.syntax_helpers as h; "
        "print(h.is_valid_syntax_iri('http://example.com/')); "
        "import rfc3987_syntax; print(rfc3987_syntax.is_valid_syntax_iri('::no')); "
        "print(type(sys.modules['rfc3987_syntax']).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False", "module"]  # the package itself loaded once used
