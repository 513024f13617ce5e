"""Document ids named in remittance text: exact and mangled, and what must not match."""

import pandas as pd
import pytest

from closelib.areas.cashapp import ids

DOCS = pd.DataFrame(
    {
        "tgt": [0, 1, 2],
        "entity": ["US01"] * 3,
        "document_id": ["US01-INV-0001234", "US01-INV-0001240", "US01-DM-0001234"],
    }
)


def named(text: str, bare: bool = True) -> dict[str, tuple[float, str]]:
    texts = pd.DataFrame({"src": [0], "entity": ["US01"], "text": [text]})
    found = ids.named_documents(texts, DOCS, allow_bare=None if bare else pd.Series([False]).to_numpy())
    return {DOCS["document_id"][int(r.tgt)]: (float(r.confidence), r.how) for r in found.itertuples()}


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("Payment US01-INV-0001234", ids.EXACT),
        ("us01 inv 0001234", ids.COMPACT),  # spaces for dashes, lower case
        ("INV-0001234", ids.NO_PREFIX),  # the entity prefix left out
        ("US01-INV-1234", ids.NO_ZEROS),  # leading zeros dropped
        ("INV 1234", ids.NO_ZEROS),  # both
        ("paid 0001234", ids.NUMBER),  # the number alone, as written in the id
    ],
)
def test_each_mangling_names_the_invoice_with_its_confidence(text, confidence):
    assert named(text)["US01-INV-0001234"][0] == confidence


def test_several_ids_in_one_text():
    assert set(named("INV US01-INV-0001234, US01-INV-0001240")) == {"US01-INV-0001234", "US01-INV-0001240"}


def test_a_type_word_decides_between_invoice_and_debit_memo():
    # "DM 1234" is the debit memo, never invoice 1234 (the number follows a type word)
    assert set(named("DM-0001234")) == {"US01-DM-0001234"}
    assert set(named("INV 0001234")) == {"US01-INV-0001234"}


def test_short_bare_numbers_name_nothing():
    # a day, a year or a quantity: bare numbers need 5 digits or the id's own digits
    assert named("paid on 2026-10-28, 1234 units") == {}


def test_bare_numbers_can_be_switched_off():
    assert named("paid 0001234", bare=False) == {}
    assert "US01-INV-0001234" in named("US01-INV-0001234", bare=False)


def test_other_entities_documents_are_never_named():
    texts = pd.DataFrame({"src": [0], "entity": ["SG01"], "text": ["US01-INV-0001234"]})
    assert ids.named_documents(texts, DOCS).empty
