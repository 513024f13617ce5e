"""A demo group of more than two entities, for scale: ``close demo --entities N``.

The demo generator tells the story of one entity pair, US01 (USD) and SG01 (SGD). A group of
``N`` entities is ``ceil(N / 2)`` such pairs: the first is the two-entity demo book itself
(``--entities 2`` is byte-identical to the plain demo), and pair ``k`` (``k`` = 2, 3, ...) is
drawn from its own seed and renamed US0k / SG0k, so each entity has its own customers, bills
and cash. An odd ``N`` leaves out the last pair's SG entity, and with it that entity's
customers. Every pair shares the group's exchange rates (drawn from the group's seed), as one
treasury's month-end rates would be; the pairs' ledgers are booked at them.

Ids stay unique across the group: ids that carry the entity code (documents, receipts,
applications, journals) take the new code, customer ids gain the pair's digit (``C000123`` ->
``C2000123``) and activity, adjustment and dispute ids the pair's number (``ACT2-...``).
The pairs are written one after another, appended table by table, so a 5M-document group is
generated with one pair's memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from closelib.demo._common import ENTITIES
from closelib.demo.assemble import generate
from closelib.demo.writer import BookWriter, arrow_tables
from closelib.errors import CloseError

MAX_ENTITIES = 18  # US01..US09, SG01..SG09: entity codes keep their four characters
PAIR_NAMES = {  # entity -> legal name, for the pairs after the first
    "US": "Northstar Data Centers {region} LLC",
    "SG": "Northstar Data Centres {region} Pte. Ltd.",
}
REGIONS = ("", "", "West", "Central", "East", "South", "North", "Pacific", "Atlantic", "Mountain")
SEQUENCED_IDS = ("ACT", "ADJ", "DSP")  # id prefixes numbered across the whole pair (no entity code)


def group_entities(count: int) -> list[str]:
    """The entity codes of an ``count``-entity group, in pair order (US01, SG01, US02, ...)."""
    if not isinstance(count, int) or not 1 <= count <= MAX_ENTITIES:
        raise CloseError(f"demo entities must be a whole number from 1 to {MAX_ENTITIES}, got {count!r}")
    codes = [f"{e[:2]}{pair:02d}" for pair in range(1, (count + 1) // 2 + 1) for e in ENTITIES]
    return codes[:count]


def pair_seed(seed: int, pair: int) -> int:
    """The seed pair ``pair`` (1-based) is drawn from; the first pair is the demo book's own."""
    return seed if pair == 1 else seed * 1000 + pair


def write_group(
    seed: int, scale: float, end: str, entities: int, out_dir: str | Path, fmt: str
) -> tuple[dict[str, Path], dict[str, int]]:
    """Write an ``entities``-entity group book (``scale`` applies to each pair) to ``out_dir``;
    returns table -> path written and table -> rows."""
    wanted = group_entities(entities)
    writer = BookWriter(out_dir, fmt)
    try:
        for tables in _pairs(seed, scale, end, wanted, fmt):
            writer.append(tables)
        return writer.finish(), dict(writer.rows)
    except BaseException:
        writer.abandon()
        raise


def _pairs(seed: int, scale: float, end: str, wanted: list[str], fmt: str) -> Iterator[dict[str, pa.Table]]:
    shared_rates = None
    for pair in range(1, (len(wanted) + 1) // 2 + 1):
        frames, _ = generate(pair_seed(seed, pair), scale, end, fx_seed=seed)
        tables = arrow_tables(frames, text_dates=(fmt == "csv"))
        del frames
        if shared_rates is None:
            shared_rates = tables["fx_rates"]
        elif not tables["fx_rates"].equals(shared_rates):  # the pairs must book at the group's rates
            raise CloseError("internal: a demo pair drew exchange rates of its own")
        else:
            tables["fx_rates"] = tables["fx_rates"].slice(0, 0)  # written once, with the first pair
        if pair > 1:
            tables = _renamed(tables, pair)
        kept = [e for e in (f"{x[:2]}{pair:02d}" for x in ENTITIES) if e in wanted]
        if len(kept) < len(ENTITIES):
            tables = _only(tables, kept)
        yield tables


def _renamed(tables: dict[str, pa.Table], pair: int) -> dict[str, pa.Table]:
    """Pair ``pair``'s tables with entity codes, customer ids and sequenced ids of its own."""
    rules = [(e, f"{e[:2]}{pair:02d}") for e in ENTITIES]
    out = {}
    for name, table in tables.items():
        columns = []
        for column in table.columns:
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                for old, new in rules:
                    column = pc.replace_substring(column, old, new)
                column = pc.replace_substring_regex(column, r"\bC(\d{6})\b", rf"C{pair}\1")
                column = pc.replace_substring_regex(column, rf"\b({'|'.join(SEQUENCED_IDS)})-", rf"\1{pair}-")
            columns.append(column)
        table = pa.Table.from_arrays(columns, schema=table.schema)
        if name == "entities":
            table = _entity_names(table, pair)
        out[name] = table
    return out


def _entity_names(table: pa.Table, pair: int) -> pa.Table:
    region = REGIONS[pair] if pair < len(REGIONS) else f"Region {pair}"
    names = [PAIR_NAMES[str(code)[:2]].format(region=region) for code in table.column("entity").to_pylist()]
    index = table.schema.get_field_index("name")
    return table.set_column(index, table.schema.field("name"), pa.array(names, type=table.schema.field("name").type))


def _only(tables: dict[str, pa.Table], kept: list[str]) -> dict[str, pa.Table]:
    """The tables of a pair cut down to the ``kept`` entities (the last pair of an odd group)."""
    entity_set = pa.array(kept)
    documents = tables["documents"]
    doc_kept = pc.is_in(documents.column("entity"), entity_set)
    documents = documents.filter(doc_kept)
    dropped_customers = pc.unique(tables["documents"].filter(pc.invert(doc_kept)).column("customer_id"))
    customers_kept = pc.unique(documents.column("customer_id"))
    # a customer billed only by a dropped entity leaves with it
    customers = tables["customers"]
    billed_kept = pc.is_in(customers.column("customer_id"), customers_kept)
    parents = pc.drop_null(customers.filter(billed_kept).column("parent_id"))  # a group parent stays
    kept_ids = pa.concat_arrays([customers_kept, parents.combine_chunks()])
    gone = pc.filter(dropped_customers, pc.invert(pc.is_in(dropped_customers, kept_ids)))
    doc_ids = documents.column("document_id")
    receipts = tables["receipts"].filter(pc.is_in(tables["receipts"].column("entity"), entity_set))
    sources = pa.concat_arrays([a.combine_chunks() for a in (receipts.column("receipt_id"), doc_ids)])
    out = {}
    for name, table in tables.items():
        names = table.column_names
        if name == "documents":
            table = documents
        elif name == "receipts":
            table = receipts
        elif name == "applications":
            table = table.filter(pc.is_in(table.column("source_id"), sources))
        elif "entity" in names:
            table = table.filter(pc.is_in(table.column("entity"), entity_set))
        elif "document_id" in names and "customer_id" not in names:
            table = table.filter(pc.is_in(table.column("document_id"), doc_ids))
        elif "customer_id" in names:
            keep = pc.invert(pc.is_in(table.column("customer_id"), gone))
            if "document_id" in names:  # activities and disputes of a kept customer on a kept document
                on_doc = pc.fill_null(pc.not_equal(table.column("document_id"), ""), False)  # CSV: "" is empty
                keep = pc.and_(keep, pc.or_(pc.invert(on_doc), pc.is_in(table.column("document_id"), doc_ids)))
            table = table.filter(keep)
        out[name] = table
    return out
