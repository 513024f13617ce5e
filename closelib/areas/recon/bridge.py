"""What makes up GL minus subledger: items summarised by cause, the bridge and its chart."""

from __future__ import annotations

import pandas as pd

from closelib import money
from closelib.areas.recon.reconcile import Reconciliation
from closelib.nb.charts import money_axis


def items_by_cause(items: pd.DataFrame) -> pd.DataFrame:
    """Items summarised per entity, class (when classified) and cause: count, amount, oldest age."""
    keys = ["entity", "class", "cause"] if "class" in items else ["entity", "cause"]
    if items.empty:
        return pd.DataFrame(columns=[*keys, "count", "amount", "oldest_months"])
    grouped = items.groupby(keys, as_index=False).agg(
        count=("amount", "size"), amount=("amount", "sum"), oldest_months=("age_months", "max")
    )
    grouped["amount"] = grouped["amount"].astype("int64")
    return grouped


def bridge(rec: Reconciliation) -> pd.DataFrame:
    """Per entity, the difference split into what explains it: one row per (entity, part)."""
    rows = []
    by_cause = items_by_cause(rec.items)
    for row in rec.summary.to_dict("records"):
        if row["difference"] is None:
            continue
        e = row["entity"]
        for cause in by_cause[by_cause["entity"] == e].to_dict("records"):
            label = f"{cause['class']}: {cause['cause']}" if "class" in cause else cause["cause"]
            rows.append((e, label, int(cause["amount"])))
        if row["items_documented"]:
            rows.append((e, "documented: in parameters", row["items_documented"]))
        rows.append((e, "unexplained", row["unexplained"]))
    return pd.DataFrame(rows, columns=["entity", "part", "amount"]).astype({"amount": "int64"})


def bridge_chart(parts: pd.DataFrame, currency_of):
    """Horizontal bars per entity: what makes up GL minus subledger (amounts in major units)."""
    import matplotlib.pyplot as plt

    entities = list(dict.fromkeys(parts["entity"]))
    fig, axes = plt.subplots(len(entities) or 1, 1, figsize=(8, 1.2 + 0.45 * max(len(parts), 1)), squeeze=False)
    for ax, entity in zip(axes[:, 0], entities, strict=False):
        mine = parts[parts["entity"] == entity]
        ccy = currency_of(entity)
        values = [float(money.from_minor(int(v), ccy)) for v in mine["amount"]]  # display only
        ax.barh(mine["part"], values, color=["#cf222e" if p == "unexplained" else "#0969da" for p in mine["part"]])
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(f"{entity}: GL minus subledger, by cause ({ccy})", fontsize=10)
        money_axis(ax, ccy, axis="x")
        ax.invert_yaxis()
    fig.tight_layout()
    return fig
