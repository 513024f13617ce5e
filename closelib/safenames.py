"""Safe names for ids that come from data: file names, folder names and parts of figure names.

Any text a book carries as an id (a customer id, a case id, an entity) can hold a slash, ``..``,
an absolute path, spaces, markup, a leading dash or hundreds of characters. Every file or folder
name built from such an id, and every figure or check name part, goes through :func:`safe_name`
(or :func:`safe_names` for the ids sharing one folder), and every file a run writes under such a
name is placed with :func:`inside`, which refuses a path that resolves outside its folder.

The rule (deterministic: the same id always gives the same name, so a re-performance writes the
same files and figures):

- an id made only of ASCII letters, digits, ``_`` and ``-``, not starting with ``-``, at most
  :data:`MAX_PLAIN` characters and not a reserved device name (``CON``, ``NUL``, ``COM1`` ...)
  is its own name (``C000123`` stays ``C000123``);
- any other id becomes a readable slug (accents dropped, every run of other characters replaced
  by ``_``, leading ``-``/``_`` removed, cut to :data:`MAX_SLUG` characters) followed by ``-`` and
  the first :data:`HASH_CHARS` hex digits of the sha256 of the whole id (``a b`` -> ``a_b-<hash>``),
  so two ids that slug alike still get different names;
- among ids sharing a folder (:func:`safe_names`), names that would be equal ignoring case (two
  files on a case-insensitive file system) all take the hash.

No name contains ``.``, ``/``, ``\\``, whitespace or markup, none is empty, starts with ``-`` or
``.``, and none is longer than ``MAX_SLUG + 1 + HASH_CHARS`` (59) characters.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from closelib.errors import UnsafePathError

MAX_PLAIN = 64
MAX_SLUG = 48
HASH_CHARS = 10
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_OTHER = re.compile(r"[^A-Za-z0-9_-]+")
# Names Windows refuses as files whatever their extension.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def _digest(identifier: str, chars: int = HASH_CHARS) -> str:
    return hashlib.sha256(identifier.encode("utf-8", "surrogatepass")).hexdigest()[:chars]


def _is_plain(identifier: str) -> bool:
    return (
        len(identifier) <= MAX_PLAIN
        and _PLAIN.fullmatch(identifier) is not None
        and identifier.upper() not in _RESERVED
    )


def _slug(identifier: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", identifier).encode("ascii", "ignore").decode("ascii")
    return _OTHER.sub("_", ascii_text).lstrip("-_")[:MAX_SLUG].rstrip("-_") or "id"


def safe_name(identifier: object, chars: int = HASH_CHARS) -> str:
    """The file-name-safe, figure-name-safe form of one id (see the module's rule)."""
    text = str(identifier)
    if _is_plain(text):
        return text
    return f"{_slug(text)}-{_digest(text, chars)}"


def hashed_name(identifier: object, chars: int = HASH_CHARS) -> str:
    """The slug-and-hash form even for a plain id (for ids whose plain names collide)."""
    text = str(identifier)
    return f"{_slug(text)}-{_digest(text, chars)}"


def safe_names(identifiers: Iterable[object]) -> dict[str, str]:
    """``id -> name`` for ids that share one folder: :func:`safe_name` of each, unique ignoring
    case (ids whose names would clash all take the hash; a clash of hashes takes a longer one)."""
    ids = list(dict.fromkeys(str(i) for i in identifiers))
    names = {i: safe_name(i) for i in ids}
    for chars in (HASH_CHARS, 20, 64):
        groups: dict[str, list[str]] = defaultdict(list)
        for i in ids:
            groups[names[i].casefold()].append(i)
        clashing = [i for group in groups.values() if len(group) > 1 for i in group]
        if not clashing:
            return names
        for i in clashing:
            names[i] = hashed_name(i, chars)
    raise UnsafePathError(f"could not give {len(ids)} ids unique file names")  # a sha256 collision


def inside(folder: Path | str, name: str) -> Path:
    """``folder / name``, refused unless it resolves to a path inside ``folder`` (a name from
    :func:`safe_name` always does; this guards the writer against any other)."""
    base = Path(folder).resolve()
    path = (base / name).resolve()
    if path == base or base not in path.parents:
        raise UnsafePathError(f"refused to write {name!r}: it resolves outside {base}")
    return path
