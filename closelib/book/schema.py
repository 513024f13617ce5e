"""The source-folder contract (CONTRACT §1) as data: tables, columns, kinds, enumerations.

Column kinds:
- ``id``: non-empty text, kept exactly (leading zeros survive).
- ``text``: free text, may be empty.
- ``date``: ISO ``YYYY-MM-DD``.
- ``period``: ``YYYY-MM``.
- ``int``: whole number.
- ``money``: decimal string parsed exactly into int64 minor units of the row's currency.
- ``currency``: an ISO 4217 code closelib knows the exponent of.
- ``enum``: one of ``choices``.
- ``rate``: a positive decimal number that is not money (FX rates).

A column marked ``optional`` may be absent from the file (a contract extension such as
``documents.fx_rate``); when it is absent it is read as a column of empty cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True  # False: the cell may be empty
    choices: tuple[str, ...] = ()
    minimum: int | None = None  # for int columns
    maximum: int | None = None
    optional: bool = False  # the column itself may be absent (an extension): read as empty cells


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    required: bool
    key: tuple[str, ...] = ()
    # Where each money column's currency comes from: a column of this table, or a rule
    # resolved by the validator across tables (see validate._currency_for).
    money_currency: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CUSTOMER_STATUS = ("active", "on_hold", "suspended", "closed", "bankrupt", "in_collections")
DOC_TYPES = ("INV", "DM", "CM")
ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
ADJUSTMENT_TYPES = ("write_off", "recovery", "adjustment")
DISPUTE_STATUS = ("open", "resolved", "rejected")
ACTIVITY_TYPES = (
    "reminder",
    "call",
    "promise_to_pay",
    "suspension_warning",
    "suspension",
    "payment_plan",
    "agency_referral",
    "legal",
    "note",
)
JOURNAL_SOURCES = ("ar_subledger", "manual", "other")
# Customer fields an optional customer_history extract may date (README: contract extensions).
# credit_currency is not among them: a limit's minor units are read in one currency.
HISTORY_FIELDS = (
    "name",
    "segment",
    "country",
    "payment_terms_days",
    "credit_limit",
    "risk_rating",
    "status",
    "collector",
    "last_review_date",
    "parent_id",
)


def _c(name: str, kind: str, **kw) -> Column:
    return Column(name, kind, **kw)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "entities",
            (
                _c("entity", "id"),
                _c("name", "text"),
                _c("functional_currency", "currency"),
                _c("country", "text", required=False),
            ),
            required=False,
            key=("entity",),
        ),
        Table(
            "customers",
            (
                _c("customer_id", "id"),
                _c("name", "text"),
                _c("segment", "text", required=False),
                _c("country", "text", required=False),
                _c("payment_terms_days", "int", minimum=0, maximum=3650),
                _c("credit_limit", "money"),
                _c("credit_currency", "currency"),
                _c("risk_rating", "int", minimum=1, maximum=10),
                _c("status", "enum", choices=CUSTOMER_STATUS),
                _c("collector", "text", required=False),
                _c("last_review_date", "date", required=False),
                _c("parent_id", "text", required=False),
            ),
            required=True,
            key=("customer_id",),
            money_currency={"credit_limit": "credit_currency"},
        ),
        Table(
            "documents",
            (
                _c("document_id", "id"),
                _c("customer_id", "id"),
                _c("entity", "id"),
                _c("doc_type", "enum", choices=DOC_TYPES),
                _c("document_date", "date"),
                _c("due_date", "date"),
                _c("currency", "currency"),
                _c("amount", "money"),
                _c("reference", "text", required=False),
                _c("description", "text", required=False),
                _c("fx_rate", "rate", required=False, optional=True),
            ),
            required=True,
            key=("document_id",),
            money_currency={"amount": "currency"},
        ),
        Table(
            "receipts",
            (
                _c("receipt_id", "id"),
                _c("entity", "id"),
                _c("customer_id", "text", required=False),
                _c("receipt_date", "date"),
                _c("currency", "currency"),
                _c("amount", "money"),
                _c("bank_reference", "text", required=False),
                # Extension (README): the remittance advice and the payer as the bank shows it.
                _c("remittance", "text", required=False, optional=True),
                _c("payer_name", "text", required=False, optional=True),
                _c("fx_rate", "rate", required=False, optional=True),
            ),
            required=True,
            key=("receipt_id",),
            money_currency={"amount": "currency"},
        ),
        Table(
            "applications",
            (
                _c("application_id", "id"),
                _c("applied_date", "date"),
                _c("source_id", "id"),
                _c("target_id", "id"),
                _c("amount", "money"),
            ),
            required=True,
            key=("application_id",),
            money_currency={"amount": "@source"},
        ),
        Table(
            "payment_schedules",
            (
                _c("document_id", "id"),
                _c("instalment", "int", minimum=1, maximum=999),
                _c("due_date", "date"),
                _c("amount", "money"),
            ),
            required=False,
            key=("document_id", "instalment"),
            money_currency={"amount": "@document"},
        ),
        Table(
            "gl_balances",
            (
                _c("entity", "id"),
                _c("period", "period"),
                _c("account", "id"),
                _c("account_name", "text", required=False),
                _c("account_type", "enum", choices=ACCOUNT_TYPES),
                _c("currency", "currency"),
                _c("debit", "money"),
                _c("credit", "money"),
            ),
            required=True,
            key=("entity", "period", "account"),
            money_currency={"debit": "currency", "credit": "currency"},
        ),
        Table(
            "adjustments",
            (
                _c("adjustment_id", "id"),
                _c("document_id", "id"),
                _c("adjustment_date", "date"),
                _c("type", "enum", choices=ADJUSTMENT_TYPES),
                _c("amount", "money"),
                _c("reason_code", "text", required=False),
                _c("approved_by", "text", required=False),
                _c("approval_reference", "text", required=False),
            ),
            required=False,
            key=("adjustment_id",),
            money_currency={"amount": "@document"},
        ),
        Table(
            "disputes",
            (
                _c("case_id", "id"),
                _c("customer_id", "id"),
                _c("document_id", "text", required=False),
                _c("opened_date", "date"),
                _c("closed_date", "date", required=False),
                _c("currency", "currency"),
                _c("amount", "money"),
                _c("reason_code", "text"),
                _c("status", "enum", choices=DISPUTE_STATUS),
                _c("resolution", "text", required=False),
                _c("owner", "text", required=False),
            ),
            required=False,
            key=("case_id",),
            money_currency={"amount": "currency"},
        ),
        Table(
            "activities",
            (
                _c("activity_id", "id"),
                _c("customer_id", "id"),
                _c("document_id", "text", required=False),
                _c("activity_date", "date"),
                _c("type", "enum", choices=ACTIVITY_TYPES),
                _c("promised_date", "date", required=False),
                _c("promised_amount", "money", required=False),
                _c("user", "text", required=False),
                _c("note", "text", required=False),
            ),
            required=False,
            key=("activity_id",),
            money_currency={"promised_amount": "@document_or_customer"},
        ),
        Table(
            "financials",
            (
                _c("customer_id", "id"),
                _c("fiscal_year_end", "date"),
                _c("currency", "currency"),
                *(
                    _c(n, "money")
                    for n in (
                        "revenue",
                        "ebit",
                        "total_assets",
                        "total_liabilities",
                        "current_assets",
                        "current_liabilities",
                        "retained_earnings",
                        "book_equity",
                    )
                ),
                _c("market_equity", "money", required=False),
            ),
            required=False,
            key=("customer_id", "fiscal_year_end"),
            money_currency=dict.fromkeys(
                (
                    "revenue",
                    "ebit",
                    "total_assets",
                    "total_liabilities",
                    "current_assets",
                    "current_liabilities",
                    "retained_earnings",
                    "book_equity",
                    "market_equity",
                ),
                "currency",
            ),
        ),
        Table(
            "fx_rates",
            (
                _c("rate_date", "date"),
                _c("currency", "currency"),
                _c("functional_currency", "currency"),
                _c("rate", "rate"),
            ),
            required=False,
            key=("rate_date", "currency", "functional_currency"),
        ),
        Table(
            "gl_journal",
            (
                _c("entity", "id"),
                _c("journal_id", "id"),
                _c("period", "period"),
                _c("posting_date", "date"),
                _c("account", "id"),
                _c("debit", "money"),
                _c("credit", "money"),
                _c("source", "enum", choices=JOURNAL_SOURCES),
                _c("reference", "text", required=False),
                _c("description", "text", required=False),
            ),
            required=False,
            money_currency={"debit": "@entity", "credit": "@entity"},
        ),
        Table(
            "customer_history",
            (
                _c("customer_id", "id"),
                _c("effective_date", "date"),
                _c("field", "enum", choices=HISTORY_FIELDS),
                _c("value", "text", required=False),
            ),
            required=False,
            key=("customer_id", "effective_date", "field"),
        ),
    )
}

# Load order matters: money currencies of later tables are looked up in earlier ones.
LOAD_ORDER = (
    "entities",
    "customers",
    "documents",
    "receipts",
    "applications",
    "adjustments",
    "payment_schedules",
    "disputes",
    "activities",
    "financials",
    "fx_rates",
    "gl_balances",
    "gl_journal",
    "customer_history",
)
REQUIRED_TABLES = tuple(n for n in LOAD_ORDER if TABLES[n].required)
OPTIONAL_TABLES = tuple(n for n in LOAD_ORDER if not TABLES[n].required)
FILE_SUFFIXES = (".csv", ".xlsx", ".parquet")
