"""Shared fixtures: a tiny hand-checkable book written as a source folder."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from closelib.book.schema import TABLES

# A book small enough to compute by hand (amounts in USD):
#   D1 INV 1000.00 due 2026-08-31, paid 600.00 by R1 on 2026-09-10, credited 100.00 by CM D3 on 2026-10-02
#   D2 INV  500.00 due 2026-10-01, unpaid
#   D3 CM  -100.00 on 2026-09-15, applied to D1 on 2026-10-02
#   D4 INV  250.50 on 2026-10-05 due 2026-11-04 (C002)
#   D5 DM    75.25 due 2026-07-31, written off on 2026-10-31 (C003, bankrupt)
#   R2 unidentified receipt 40.00 on 2026-10-20
# As of 2026-10-31: open D1 300.00, D2 500.00, D4 250.50 (total 1050.50); unapplied cash 40.00.
# As of 2026-09-30: open D1 400.00, D2 500.00, D3 -100.00, D5 75.25 (total 875.25); unapplied 0.
MINI: dict[str, list[dict]] = {
    "entities": [{"entity": "US01", "name": "Mini Inc.", "functional_currency": "USD", "country": "US"}],
    "customers": [
        {
            "customer_id": "C001",
            "name": "Alpha Colo",
            "segment": "enterprise",
            "country": "US",
            "payment_terms_days": "30",
            "credit_limit": "5000.00",
            "credit_currency": "USD",
            "risk_rating": "3",
            "status": "active",
            "collector": "Ana",
            "last_review_date": "2026-01-15",
            "parent_id": "",
        },
        {
            "customer_id": "C002",
            "name": "Beta Networks",
            "segment": "smb",
            "country": "US",
            "payment_terms_days": "30",
            "credit_limit": "1000.00",
            "credit_currency": "USD",
            "risk_rating": "6",
            "status": "active",
            "collector": "Ana",
            "last_review_date": "",
            "parent_id": "C001",
        },
        {
            "customer_id": "C003",
            "name": "Gamma Hosting",
            "segment": "smb",
            "country": "US",
            "payment_terms_days": "30",
            "credit_limit": "0.00",
            "credit_currency": "USD",
            "risk_rating": "10",
            "status": "bankrupt",
            "collector": "Ben",
            "last_review_date": "2025-06-30",
            "parent_id": "",
        },
    ],
    "documents": [
        {
            "document_id": "D1",
            "customer_id": "C001",
            "entity": "US01",
            "doc_type": "INV",
            "document_date": "2026-08-01",
            "due_date": "2026-08-31",
            "currency": "USD",
            "amount": "1000.00",
            "reference": "",
            "description": "Colocation Aug",
        },
        {
            "document_id": "D2",
            "customer_id": "C001",
            "entity": "US01",
            "doc_type": "INV",
            "document_date": "2026-09-01",
            "due_date": "2026-10-01",
            "currency": "USD",
            "amount": "500.00",
            "reference": "",
            "description": "Colocation Sep",
        },
        {
            "document_id": "D3",
            "customer_id": "C001",
            "entity": "US01",
            "doc_type": "CM",
            "document_date": "2026-09-15",
            "due_date": "2026-09-15",
            "currency": "USD",
            "amount": "-100.00",
            "reference": "DSP-1",
            "description": "SLA credit",
        },
        {
            "document_id": "D4",
            "customer_id": "C002",
            "entity": "US01",
            "doc_type": "INV",
            "document_date": "2026-10-05",
            "due_date": "2026-11-04",
            "currency": "USD",
            "amount": "250.50",
            "reference": "",
            "description": "Install",
        },
        {
            "document_id": "D5",
            "customer_id": "C003",
            "entity": "US01",
            "doc_type": "DM",
            "document_date": "2026-07-01",
            "due_date": "2026-07-31",
            "currency": "USD",
            "amount": "75.25",
            "reference": "",
            "description": "Power overage",
        },
    ],
    "receipts": [
        {
            "receipt_id": "R1",
            "entity": "US01",
            "customer_id": "C001",
            "receipt_date": "2026-09-10",
            "currency": "USD",
            "amount": "600.00",
            "bank_reference": "BNK1",
        },
        {
            "receipt_id": "R2",
            "entity": "US01",
            "customer_id": "",
            "receipt_date": "2026-10-20",
            "currency": "USD",
            "amount": "40.00",
            "bank_reference": "BNK2",
        },
    ],
    "applications": [
        {
            "application_id": "A1",
            "applied_date": "2026-09-10",
            "source_id": "R1",
            "target_id": "D1",
            "amount": "600.00",
        },
        {
            "application_id": "A2",
            "applied_date": "2026-10-02",
            "source_id": "D3",
            "target_id": "D1",
            "amount": "100.00",
        },
    ],
    "adjustments": [
        {
            "adjustment_id": "J1",
            "document_id": "D5",
            "adjustment_date": "2026-10-31",
            "type": "write_off",
            "amount": "-75.25",
            "reason_code": "bankruptcy",
            "approved_by": "cfo",
            "approval_reference": "WO-1",
        },
    ],
    "gl_balances": [
        {
            "entity": "US01",
            "period": "2026-10",
            "account": "1000",
            "account_name": "Cash",
            "account_type": "asset",
            "currency": "USD",
            "debit": "640.00",
            "credit": "0.00",
        },
        {
            "entity": "US01",
            "period": "2026-10",
            "account": "1100",
            "account_name": "AR control",
            "account_type": "asset",
            "currency": "USD",
            "debit": "1050.50",
            "credit": "0.00",
        },
        {
            "entity": "US01",
            "period": "2026-10",
            "account": "2150",
            "account_name": "Unapplied receipts",
            "account_type": "liability",
            "currency": "USD",
            "debit": "0.00",
            "credit": "40.00",
        },
        {
            "entity": "US01",
            "period": "2026-10",
            "account": "4000",
            "account_name": "Revenue",
            "account_type": "revenue",
            "currency": "USD",
            "debit": "0.00",
            "credit": "1650.50",
        },
    ],
}


def write_source(folder: Path, tables: dict[str, list[dict] | pd.DataFrame]) -> Path:
    """Write tables as CSV extracts (columns in contract order, extra columns after)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        if frame.empty and name in TABLES:
            frame = pd.DataFrame(columns=TABLES[name].column_names)
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    return folder


@pytest.fixture
def mini_tables() -> dict[str, list[dict]]:
    return copy.deepcopy(MINI)


@pytest.fixture
def mini_source(tmp_path: Path, mini_tables) -> Path:
    return write_source(tmp_path / "mini", mini_tables)


# Notebooks written by tests: a parameters cell as the runner injects it, then the given cells.
PARAMS_CELL = 'notebook = ""\nperiod = ""\nsource = ""\nrun_dir = ""\nrun_id = ""\nparams_json = ""'
START = "from closelib.nb import context as nb\nctx = nb.start(notebook, period, source, run_dir, run_id, params_json)"


def write_notebook(path: Path, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell(PARAMS_CELL)
    first.metadata["tags"] = ["parameters"]
    notebook.cells = [first] + [nbformat.v4.new_code_cell(code) for code in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))
    return path
