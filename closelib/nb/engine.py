"""papermill's nbclient engine, saving the executed notebook only when a code cell starts.

papermill (with ``request_save_on_cell_execute``) rewrites the whole output notebook when any
cell, markdown included, starts and when it ends. A workpaper of 30 cells with a 15 MB table
in it (the reserve's customer listing at a million documents) was rewritten some 60 times, the
late writes 0.17 s each. Saving when a code cell starts, and at no other cell event, loses
nothing a reader of the file needs: the file on disk is written when the notebook starts (every
cell pending) and as each code cell starts (it running, every code cell before it completed or
failed, with its outputs), and papermill's final write, when the notebook ends (whether it
succeeded, failed or timed out), records the last cell's end and every error. A process killed
at any moment leaves a notebook whose first unfinished code cell says so
(:func:`closelib.nb.execute.first_problem`): the cell that was running at the kill, or, killed
in the moment between one code cell's end and the next one's start, the one that had just
ended (still marked running: the run was stopped there); or a half-written file that does not
parse: either way recognisably incomplete. (A save at a cell's end as well would only have
marked that cell completed a moment before the next start's save.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

ENGINE = "closelib"


class CodeCellSaves(NotebookExecutionManager):
    """papermill's execution manager, its cell-state saves made only when a code cell starts."""

    _skip_save = False
    _finished: dict[int, tuple[Any, bytes]] | None = None  # id(cell) -> (cell, its JSON as UTF-8)

    def save(self, **kwargs: Any) -> None:
        """The notebook as it stands, written as plain JSON: nbformat's writer deep-copies the
        notebook and splits every text into lines first (0.17 s for the reserve's 15 MB, against
        0.06 s). Strings not split are valid nbformat, and so is JSON without indentation
        (which the json module writes in C). papermill's final write, when the notebook ends, is
        nbformat's own, so a finished notebook's bytes are unchanged.

        The bytes are ``json.dumps(nb, sort_keys=True, ensure_ascii=False)`` in UTF-8 and a
        newline, but each finished cell is encoded once (:meth:`_cell_bytes`) and the pieces are
        written as they are, never joined: the reserve's later saves re-encoded the same 15 MB of
        finished listings at every code cell."""
        if self._skip_save:
            return
        if kwargs.get("nb") is not None:
            self.nb = kwargs["nb"]  # as papermill's save: a new copy of the notebook replaces ours
            self._finished = None
        if self.output_path:
            with open(self.output_path, "wb") as out:
                out.writelines(self.notebook_chunks())
        self.last_save_time = self.now()

    def notebook_chunks(self) -> list[bytes]:
        """``json.dumps(self.nb, sort_keys=True, ensure_ascii=False) + "\\n"`` in UTF-8, in pieces
        (the cells' from :meth:`_cell_bytes`)."""
        chunks = [b"{"]
        for index, key in enumerate(sorted(self.nb)):
            chunks.append((", " if index else "").encode() + json.dumps(key, ensure_ascii=False).encode() + b": ")
            if key == "cells":
                chunks.append(b"[")
                for number, cell in enumerate(self.nb.cells):
                    chunks.extend((b", ", self._cell_bytes(cell)) if number else (self._cell_bytes(cell),))
                chunks.append(b"]")
            else:
                chunks.append(json.dumps(self.nb[key], sort_keys=True, ensure_ascii=False).encode())
        chunks.append(b"}\n")
        return chunks

    def _cell_bytes(self, cell: Any) -> bytes:
        """A cell's JSON in UTF-8; kept once the cell has finished (papermill's status ``completed``
        or ``failed``), since from then on neither nbclient nor papermill changes it before the
        final write (which is nbformat's own). The cell itself is kept with its bytes, so a
        later cell object can never be taken for it by its ``id``."""
        if self._finished is None:
            self._finished = {}
        kept = self._finished.get(id(cell))
        if kept is not None and kept[0] is cell:
            return kept[1]
        data = json.dumps(cell, sort_keys=True, ensure_ascii=False).encode()
        if cell.get("metadata", {}).get("papermill", {}).get("status") in (self.COMPLETED, self.FAILED):
            self._finished[id(cell)] = (cell, data)
        return data

    @contextmanager
    def _not_saving(self, skip: bool) -> Iterator[None]:
        """papermill's cell-state hooks save as they end: skip that save (``skip``)."""
        self._skip_save = skip
        try:
            yield
        finally:
            self._skip_save = False

    def cell_start(self, cell, cell_index=None, **kwargs: Any) -> None:
        with self._not_saving(cell.get("cell_type") != "code"):
            super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell, cell_index=None, **kwargs: Any) -> None:
        # the cell's end (its metadata, kept up to date here) is written by the next save: the
        # next code cell's start, or papermill's final write
        with self._not_saving(True):
            super().cell_complete(cell, cell_index, **kwargs)


class CloselibEngine(NBClientEngine):
    """:class:`NBClientEngine` with :class:`CodeCellSaves` as its execution manager (the body is
    papermill's ``Engine.execute_notebook`` with that one class changed)."""

    @classmethod
    def execute_notebook(
        cls,
        nb,
        kernel_name,
        output_path=None,
        progress_bar=True,
        log_output=False,
        autosave_cell_every=30,
        **kwargs: Any,
    ):
        nb_man = CodeCellSaves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


def register() -> None:
    """papermill finds engines by name: make ``closelib`` one (idempotent)."""
    papermill_engines.register(ENGINE, CloselibEngine)
