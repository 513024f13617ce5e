"""Document ids named in remittance text, as written or mangled.

Remittance advices name the invoices they pay, but rarely as the ERP writes them: the prefix is
left out (``INV-0001234`` for ``US01-INV-0001234``), leading zeros dropped (``US01-INV-1234``),
punctuation replaced by spaces (``US01 INV 0001234``), or only the number given. Every id is
reduced to a *compact* form (upper-case letters and digits only), its trailing *digits* and the
*letters* just before them; the text is cut into runs of letters and digits, and every run of
one to three consecutive pieces is compared with the open documents by (entity, number):

| how the text names the document | confidence |
|---|---|
| the id exactly as the ERP writes it | 0.99 |
| the same letters and digits, other spaces or punctuation | 0.95 |
| the same type letters and number, the prefix left out | 0.90 |
| the same type letters, the number without its leading zeros | 0.90 |
| the number alone, as the ERP writes it or with at least 5 digits | 0.80 |

A bare number shorter than that (a day, a year, a quantity) names nothing, nor does a number
right after a type word (``DM 1234`` is the debit memo, never invoice 1234), and letters that
differ (``DM`` for an invoice) never match. Everything is vectorised in Arrow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EXACT, COMPACT, NO_PREFIX, NO_ZEROS, NUMBER = 0.99, 0.95, 0.90, 0.90, 0.80
HOW = {
    EXACT: "the id as written",
    COMPACT: "the id with other spaces or punctuation",
    NUMBER: "the document number alone",
}
MIN_BARE_DIGITS = 5
MAX_NGRAM = 3
_PIECE_SPLIT = r"[^A-Z0-9]+"
_WORD_SPLIT = r"[\s,;:()\[\]{}<>\"'|]+"
_TAIL = r"(?P<letters>[A-Z]*)(?P<digits>[0-9]{1,18})$"


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values.astype(object).where(values.notna(), "").astype(str).to_numpy(dtype=object), pa.string())


def _split(text: pa.Array, pattern: str) -> tuple[pa.Array, np.ndarray]:
    lists = pc.split_pattern_regex(text, pattern)
    flat = pc.list_flatten(lists)
    parent = np.asarray(pc.list_parent_indices(lists), dtype="int64")
    keep = np.asarray(pc.greater(pc.utf8_length(flat), 0), dtype=bool)
    return pc.filter(flat, pa.array(keep)), parent[keep]


def _tail(compact: pa.Array) -> pd.DataFrame:
    """letters, digits (text) and number (int64; -1 where the text ends without digits)."""
    parts = pc.extract_regex(compact, _TAIL)
    valid = np.asarray(pc.is_valid(parts), dtype=bool)
    letters = pc.fill_null(pc.struct_field(parts, "letters"), "")
    digits = pc.fill_null(pc.struct_field(parts, "digits"), "0")
    number = np.asarray(pc.cast(digits, pa.int64()), dtype="int64")
    return pd.DataFrame(
        {
            "letters": np.asarray(letters.to_numpy(zero_copy_only=False), dtype=object),
            "digits": np.asarray(digits.to_numpy(zero_copy_only=False), dtype=object),
            "number": np.where(valid, number, -1),
        }
    )


def document_keys(document_ids: pd.Series, numbers: np.ndarray | None = None) -> pd.DataFrame:
    """Per document: compact id, type letters, digits and number (``row``: its position). With
    ``numbers``, only the documents whose number is one of them (the rest cannot be named)."""
    upper = pc.utf8_upper(_arrow(document_ids))
    compact = pc.replace_substring_regex(upper, _PIECE_SPLIT, "")
    rows = np.arange(len(compact))
    if numbers is not None:
        digits = pc.extract_regex(compact, r"(?P<digits>[0-9]{1,18})$")
        number = np.asarray(pc.fill_null(pc.cast(pc.struct_field(digits, "digits"), pa.int64()), -1), dtype="int64")
        rows = np.flatnonzero(np.isin(number, numbers))
        compact = pc.take(compact, pa.array(rows))
    keys = _tail(compact)
    keys["compact"] = np.asarray(compact.to_numpy(zero_copy_only=False), dtype=object)
    keys["row"] = rows
    return keys


def text_tokens(text: pd.Series) -> pd.DataFrame:
    """Runs of one to ``MAX_NGRAM`` consecutive letter-and-digit pieces of each text, with
    their compact form, letters, digits and number (``row`` is the text's position)."""
    pieces, parent = _split(pc.utf8_upper(_arrow(text)), _PIECE_SPLIT)
    frames = []
    for width in range(1, MAX_NGRAM + 1):
        if len(pieces) < width:
            break
        count = len(pieces) - width + 1
        same = np.ones(count, dtype=bool)
        for k in range(1, width):
            same &= parent[k : k + count] == parent[:count]
        joined = pieces.slice(0, count)
        for k in range(1, width):
            joined = pc.binary_join_element_wise(joined, pieces.slice(k, count), "")
        joined = pc.filter(joined, pa.array(same))
        keys = _tail(joined)
        keys["compact"] = np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)
        keys["row"] = parent[:count][same]
        keys["width"] = width
        # the piece before a single piece: a type word there ("INV 1234") makes it no bare number
        before = np.full(count, "", dtype=object)
        if width == 1 and count > 1:
            follows = parent[1:] == parent[:-1]
            before[1:] = np.where(follows, np.asarray(pieces.to_numpy(zero_copy_only=False), dtype=object)[:-1], "")
        keys["before"] = before[same]
        frames.append(keys[keys["number"] >= 0])
    if not frames:
        return pd.DataFrame(columns=["letters", "digits", "number", "compact", "row", "width", "before"])
    return pd.concat(frames, ignore_index=True)


def exact_words(text: pd.Series) -> pd.DataFrame:
    """Words of each text as written (for the exact-id match): ``row`` and ``word``."""
    words, parent = _split(_arrow(text), _WORD_SPLIT)
    stripped = pc.utf8_trim(words, ".-/_")
    return pd.DataFrame({"row": parent, "word": np.asarray(stripped.to_numpy(zero_copy_only=False), dtype=object)})


def named_documents(texts: pd.DataFrame, documents: pd.DataFrame, allow_bare: np.ndarray | None = None) -> pd.DataFrame:
    """Which documents each text names, and how surely.

    ``texts``: ``src`` (position), ``entity``, ``text``. ``documents``: ``tgt`` (position),
    ``entity``, ``document_id``. ``allow_bare`` (bool per text row): whether a bare number may
    name a document (off for credit memos, whose texts carry case numbers). Returns one row
    per (src, tgt) with the best ``confidence`` and ``how`` it was named.
    """
    columns = ["src", "tgt", "confidence", "how", "written"]
    if texts.empty or documents.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    # entities as small integers: joins on numbers, never on text
    entity_code, _ = pd.factorize(pd.concat([documents["entity"], texts["entity"]], ignore_index=True))
    doc_entity, text_entity = entity_code[: len(documents)], entity_code[len(documents) :]
    tokens = text_tokens(texts["text"])
    tokens["src"] = texts["src"].to_numpy()[tokens["row"].to_numpy()]
    tokens["entity"] = text_entity[tokens["row"].to_numpy()]
    tokens["bare_ok"] = True if allow_bare is None else np.asarray(allow_bare, dtype=bool)[tokens["row"].to_numpy()]
    keys = document_keys(documents["document_id"], tokens["number"].unique())
    keys["tgt"] = documents["tgt"].to_numpy()[keys["row"].to_numpy()]
    keys["entity"] = doc_entity[keys["row"].to_numpy()]
    keys = keys[keys["number"] >= 0].drop(columns="row")
    pairs = tokens.drop(columns="row").merge(keys, on=["entity", "number"], suffixes=("", "_doc"))
    same_letters = pairs["letters"] == pairs["letters_doc"]
    same_digits = pairs["digits"] == pairs["digits_doc"]
    type_words = set(keys["letters"].unique()) - {""}
    bare = (
        (pairs["letters"] == "")
        & pairs["bare_ok"]
        & ~pairs["before"].isin(type_words)
        & (same_digits | (pairs["digits"].str.len() >= MIN_BARE_DIGITS))
    )
    confidence = np.select(
        [
            pairs["compact"] == pairs["compact_doc"],
            same_letters & same_digits,
            same_letters,
            bare & (pairs["width"] == 1),
        ],
        [COMPACT, NO_PREFIX, NO_ZEROS, NUMBER],
        default=0.0,
    )
    how = np.select(
        [confidence == COMPACT, same_letters & same_digits, same_letters],
        [HOW[COMPACT], "the id without its prefix", "the id without its leading zeros"],
        default=HOW[NUMBER],
    )
    found = pd.DataFrame(
        {"src": pairs["src"], "tgt": pairs["tgt"], "confidence": confidence, "how": how, "written": pairs["compact"]}
    )
    found = found[found["confidence"] > 0]
    words = exact_words(texts["text"])
    # each word looked up among the document ids by one Arrow hash lookup (ids are unique)
    where = pc.index_in(
        pa.array(words["word"].to_numpy(dtype=object), pa.string()), value_set=_arrow(documents["document_id"])
    )
    doc_row = np.asarray(pc.fill_null(where, -1), dtype="int64")
    hit = doc_row >= 0
    hit[hit] = doc_entity[doc_row[hit]] == text_entity[words["row"].to_numpy()[hit]]
    exact = pd.DataFrame(
        {
            "src": texts["src"].to_numpy()[words["row"].to_numpy()[hit]],
            "tgt": documents["tgt"].to_numpy()[doc_row[hit]],
            "confidence": EXACT,
            "how": HOW[EXACT],
            "written": words["word"].to_numpy()[hit],
        }
    )
    both = pd.concat([exact, found], ignore_index=True)
    both = both.sort_values(["src", "tgt", "confidence"], ascending=[True, True, False], kind="stable")
    return both.drop_duplicates(["src", "tgt"], keep="first").reset_index(drop=True)[columns]
