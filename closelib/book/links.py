"""Row links of a book: where each application and adjustment points, made once per book."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from closelib.book.arrays import first_rows, id_array, index_in
from closelib.book.model import Book, derived


class Links:
    """Where each application and adjustment points, as row positions (-1: none).

    Worked out once per book (hash lookups of the ids, each on first use) and kept on the
    book, so every as-of date after the first is integer arithmetic; the run's book cache
    stores them, so no notebook repeats them. Positions are of the first row with the id;
    ``doc_first``/``rec_first`` map every row to the first row sharing its id (identity in a
    valid book, where ids are unique).
    """

    NAMES = ("app_target", "app_source_doc", "app_source_rec", "adj_doc", "doc_first", "rec_first")

    def __init__(self, book: Book) -> None:
        self.frames = (book.documents, book.receipts, book.applications, book.adjustments)
        self._values: dict[str, np.ndarray] = {}
        self._ids: dict[str, object] = {}

    def current(self, book: Book) -> bool:
        now = (book.documents, book.receipts, book.applications, book.adjustments)
        return all(a is b and len(a) == len(b) for a, b in zip(self.frames, now, strict=False))

    def _table(self, which: str):
        if which not in self._ids:
            frame, column = (self.frames[0], "document_id") if which == "doc" else (self.frames[1], "receipt_id")
            self._ids[which] = id_array(frame[column])
        return self._ids[which]

    def get(self, name: str) -> np.ndarray:
        if name not in self._values:
            _docs, _rec, apps, adj = self.frames
            make = {
                "app_target": lambda: index_in(apps["target_id"], self._table("doc")),
                "app_source_doc": lambda: index_in(apps["source_id"], self._table("doc")),
                "app_source_rec": lambda: index_in(apps["source_id"], self._table("rec")),
                "adj_doc": lambda: index_in(adj["document_id"], self._table("doc")),
                "doc_first": lambda: first_rows(self._table("doc")),
                "rec_first": lambda: first_rows(self._table("rec")),
            }[name]
            self._values[name] = make()
        return self._values[name]

    def set(self, name: str, values: np.ndarray) -> None:
        self._values[name] = values

    def __getattr__(self, name: str) -> np.ndarray:
        if name in Links.NAMES:
            return self.get(name)
        raise AttributeError(name)


def links(book: Book) -> Links:
    """The book's :class:`Links` (made on first use; remade if a table was replaced)."""
    return derived(book, "_links", Links)


# The links the validation's shared id lookups (closelib.book.idlinks) find as they are defined
# here: every cell of the column looked up, first row holding the id. (``app_source_doc`` is
# not among them: the validation looks a source up among the documents only when no receipt
# holds it.)
FOUND_BY_VALIDATION = {
    "app_target": ("applications", "target_id", "documents"),
    "app_source_rec": ("applications", "source_id", "receipts"),
    "adj_doc": ("adjustments", "document_id", "documents"),
}


def keep_found(book: Book, found: Callable[[str, str, str], np.ndarray | None]) -> None:
    """The book's :class:`Links` starting from what the validation found (``found(table, column,
    target)``: the positions of ``table.column`` in ``target``'s rows, or None), so the cache
    writer does not look them up again (three hash lookups of a million ids). A position array
    that does not fit its table (not the same rows) is not taken."""
    made = links(book)
    for name, (table, column, target) in FOUND_BY_VALIDATION.items():
        values = found(table, column, target)
        if values is not None and book.has(table) and book.has(target) and len(values) == len(book.tables[table]):
            made.set(name, values)
