"""Text from data, made inert in the markdown the notebooks show.

The reviewer HTML renders markdown with raw HTML passed through, so a customer name like
``<img src=x onerror=...>`` placed in a conclusion would run in the reviewer's browser, and one
like ``[click](http://...)`` or ``**`` would become a link or bold. :func:`md` escapes every ASCII
punctuation character with a backslash (CommonMark shows the character itself, and the HTML
renderer then escapes ``<``, ``>``, ``&`` and quotes) and turns line breaks into spaces, so the
value reads exactly as it is in the book and creates no markup. Tables are escaped by
:meth:`closelib.nb.context.Context.show`; markdown built by the areas passes each value from data
through :func:`md`.
"""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def md(value: object) -> str:
    """``value`` as literal markdown text (no markup, no HTML, no line breaks)."""
    return _PUNCTUATION.sub(r"\\\1", _BREAKS.sub(" ", str(value)))


def md_code(value: object) -> str:
    """``value`` as a markdown code span (file names): backticks inside are replaced by ``'``, as a
    code span cannot hold its own delimiter; the renderer escapes the rest."""
    return "`" + _BREAKS.sub(" ", str(value)).replace("`", "'") + "`"
