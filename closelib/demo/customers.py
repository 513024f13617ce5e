"""Customer master and the hidden behaviour that drives every later table.

Each customer gets observable attributes (segment, entity, rating, terms...) and hidden
behaviour parameters that worsen with the risk rating: probability of paying on time,
mean days late, partial and short payments, disputes, and a *distress episode* (a period
in which the customer stops paying). An episode either ends with a catch-up payment or
in default (bankruptcy, write-off, sometimes a later recovery). A few episodes are
*forced* on the worst-rated customers so that even a tiny book shows every collections
situation the notebooks must handle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from closelib.demo._common import NEVER, Calendar, pick, uniform_int

SEGMENTS = np.array(["enterprise", "mid_market", "smb", "carrier"])
ENT, MID, SMB, CARRIER = 0, 1, 2, 3

EP_NONE, EP_CATCHUP, EP_DEFAULT = 0, 1, 2

COLLECTORS = {
    0: np.array(["Maria Alvarez", "James O'Connor", "Priya Natarajan", "Tom Becker", "Aisha Johnson"]),
    1: np.array(["Tan Wei Ling", "Arjun Menon", "Siti Rahman"]),
}

_FIRST = np.array(
    [
        "Aurora",
        "Blue",
        "Ridge",
        "Cobalt",
        "Summit",
        "Harbor",
        "Meridian",
        "Redwood",
        "Granite",
        "Vertex",
        "Atlas",
        "Northwind",
        "Silverline",
        "Keystone",
        "Pioneer",
        "Crescent",
        "Evergreen",
        "Lumen",
        "Orchid",
        "Sterling",
        "Horizon",
        "Pacific",
        "Lakeside",
        "Ironbridge",
        "Bayview",
        "Cedar",
        "Falcon",
        "Quantum",
        "Nimbus",
        "Tidewater",
        "Highland",
        "Beacon",
        "Juniper",
        "Solstice",
        "Riverside",
        "Obsidian",
        "Mosaic",
        "Halcyon",
        "Ember",
        "Zenith",
        "Marlin",
        "Sapphire",
        "Oakmont",
    ]
)
_SECOND = {
    ENT: np.array(
        [
            "Financial Holdings",
            "Health Systems",
            "Retail Group",
            "Insurance",
            "Logistics",
            "Media Group",
            "Pharmaceuticals",
            "Energy",
            "Bank",
            "Manufacturing",
        ]
    ),
    MID: np.array(
        ["Analytics", "Software", "Payments", "Games", "Labs", "Security", "Marketing", "Robotics", "Cloud", "Data"]
    ),
    SMB: np.array(
        [
            "Web Studio",
            "Hosting",
            "IT Services",
            "Consulting",
            "Design",
            "Apps",
            "Digital",
            "Systems",
            "Tech",
            "Solutions",
        ]
    ),
    CARRIER: np.array(
        ["Telecom", "Networks", "Communications", "Fiber", "Broadband", "Connect", "Carrier Services", "Backbone"]
    ),
}
_SUFFIX = {
    "US": "Inc.",
    "CA": "Ltd.",
    "GB": "plc",
    "DE": "GmbH",
    "SG": "Pte. Ltd.",
    "MY": "Sdn. Bhd.",
    "ID": "Tbk",
    "AU": "Pty Ltd",
    "HK": "Limited",
    "JP": "K.K.",
}

RATING_P = [0.03, 0.07, 0.14, 0.19, 0.20, 0.15, 0.10, 0.06, 0.04, 0.02]
EPISODE_P = np.array([0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.08, 0.12, 0.18, 0.25])
DEFAULT_SHARE = np.array([0.1, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7])


@dataclass
class Customers:
    """Column arrays, one row per customer (index = position), plus hidden behaviour."""

    n: int
    entity: np.ndarray  # 0 = US01, 1 = SG01
    segment: np.ndarray
    rating: np.ndarray
    terms: np.ndarray
    country: np.ndarray
    name: np.ndarray
    start_m: np.ndarray  # first billed month index
    last_m: np.ndarray  # last billed month index (contract end or termination)
    churned: np.ndarray
    collector: np.ndarray
    parent: np.ndarray  # index of parent customer or -1
    last_review: np.ndarray  # day number or NEVER (never reviewed)
    public: np.ndarray  # listed company (market equity known)
    # behaviour
    p_on: np.ndarray
    mean_late: np.ndarray
    p_partial: np.ndarray
    p_short: np.ndarray
    p_dispute: np.ndarray
    batch: np.ndarray  # pays all documents of one billing date together
    prepay: np.ndarray  # cash in advance: pays before the invoice date, credit limit 0
    late_fee: np.ndarray  # contract has a late-payment fee clause
    # distress episode
    ep_kind: np.ndarray
    ep_start: np.ndarray
    ep_end: np.ndarray  # catch-up payment date (NEVER if still unpaid at the end)
    bankrupt: np.ndarray  # bankruptcy date or NEVER
    write_off: np.ndarray  # write-off date or NEVER
    recovery: np.ndarray  # recovery date or NEVER
    recovery_pct: np.ndarray
    forced: np.ndarray  # forced episode slot (0 = none), for tests and docs
    credit_limit: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    reference: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))  # PO / MSA

    @property
    def ids(self) -> np.ndarray:
        return np.char.add("C", np.char.zfill((np.arange(self.n) + 1).astype(str), 6))


def draw_customers(rng: np.random.Generator, cal: Calendar, scale: float) -> Customers:
    """Draw the customer base: about 80 customers per unit of ``scale``."""
    n = max(12, round(80 * scale))
    nm = cal.n
    end = cal.end_date

    # Entity by exact proportion (30% SG01, at least 4) so small books have both.
    n_sg = max(4, round(0.3 * n))
    entity = np.zeros(n, dtype="int64")
    entity[rng.permutation(n)[:n_sg]] = 1

    segment = pick(rng, [ENT, MID, SMB, CARRIER], [0.2, 0.35, 0.35, 0.1], n)
    rating = pick(rng, np.arange(1, 11), RATING_P, n)
    # Large customers are rated a little better, small ones a little worse.
    shift = np.where(segment == ENT, -1, np.where(segment == SMB, 1, 0)) * (rng.random(n) < 0.4)
    rating = np.clip(rating + shift, 1, 10)

    u = rng.random(n)
    p30 = np.array([0.3, 0.6, 0.85, 0.4])[segment]
    p45 = np.array([0.35, 0.3, 0.15, 0.4])[segment]
    terms = np.where(u < p30, 30, np.where(u < p30 + p45, 45, 60)).astype("int64")

    us_country = pick(rng, ["US", "CA", "GB", "DE"], [0.85, 0.07, 0.05, 0.03], n)
    sg_country = pick(rng, ["SG", "MY", "ID", "AU", "HK", "JP"], [0.6, 0.1, 0.1, 0.08, 0.07, 0.05], n)
    country = np.where(entity == 0, us_country, sg_country)

    first = _FIRST[rng.integers(0, len(_FIRST), n)]
    second = np.empty(n, dtype=object)
    k = rng.integers(0, 1000, n)
    for seg, words in _SECOND.items():
        mask = segment == seg
        second[mask] = words[k[mask] % len(words)]
    codes, inverse = np.unique(country, return_inverse=True)
    suffix = np.array([_SUFFIX[str(code)] for code in codes], dtype=object)[inverse]
    name = np.char.add(
        np.char.add(np.char.add(first.astype(str), " "), second.astype(str)), np.char.add(" ", suffix.astype(str))
    )

    start_m = np.where(rng.random(n) < 0.55, 0, rng.integers(1, nm - 3, n)).astype("int64")
    can_churn = start_m + 6 <= nm - 6
    churned = can_churn & (rng.random(n) < 0.15)
    last_m = np.where(churned, uniform_int(rng, start_m + 6, np.maximum(start_m + 6, nm - 6)), nm - 1)

    r = rating.astype("float64")
    p_on = np.clip(0.95 - 0.075 * (r - 1), 0.2, 0.97)
    mean_late = 3.0 + 3.5 * r
    p_partial = 0.015 + 0.008 * r
    p_short = 0.005 + 0.003 * r
    p_dispute = (0.006 + 0.003 * r) * np.array([1.3, 1.0, 0.7, 1.2])[segment]
    batch = rng.random(n) < 0.7
    prepay = rng.random(n) < (0.01 + 0.08 * (segment == SMB) + 0.12 * (rating >= 8))
    late_fee = rng.random(n) < 0.4

    # Distress episodes (random part).
    start_date = cal.month_start[start_m]
    lo = start_date + 150
    eligible = ~churned & ~prepay & (lo <= end - 15)
    has_ep = eligible & (rng.random(n) < EPISODE_P[rating - 1])
    is_def = has_ep & (rng.random(n) < DEFAULT_SHARE[rating - 1])
    ep_start = np.where(has_ep, uniform_int(rng, lo, np.maximum(lo, end - 15)), NEVER)
    ep_kind = np.where(is_def, EP_DEFAULT, np.where(has_ep, EP_CATCHUP, EP_NONE))
    ep_end = np.where(ep_kind == EP_CATCHUP, ep_start + uniform_int(rng, 30, 240, n), NEVER)
    terminate = ep_start + uniform_int(rng, 60, 110, n)
    bankrupt = np.where(is_def, ep_start + uniform_int(rng, 120, 330, n), NEVER)
    write_off = np.where(is_def, bankrupt + uniform_int(rng, 20, 75, n), NEVER)
    recovers = is_def & (rng.random(n) < 0.4)
    recovery = np.where(recovers, write_off + uniform_int(rng, 60, 360, n), NEVER)
    recovery_pct = uniform_int(rng, 10, 40, n)
    last_m = np.where(is_def, np.minimum(last_m, cal.month_of(terminate)), last_m)

    cust = Customers(
        n=n,
        entity=entity,
        segment=segment,
        rating=rating,
        terms=terms,
        country=country,
        name=name,
        start_m=start_m,
        last_m=last_m,
        churned=churned,
        collector=np.zeros(n, dtype=object),
        parent=np.full(n, -1, dtype="int64"),
        last_review=np.zeros(n, dtype="int64"),
        public=np.zeros(n, dtype=bool),
        p_on=p_on,
        mean_late=mean_late,
        p_partial=p_partial,
        p_short=p_short,
        p_dispute=p_dispute,
        batch=batch,
        prepay=prepay,
        late_fee=late_fee,
        ep_kind=ep_kind,
        ep_start=ep_start,
        ep_end=ep_end,
        bankrupt=bankrupt,
        write_off=write_off,
        recovery=recovery,
        recovery_pct=recovery_pct,
        forced=np.zeros(n, dtype="int64"),
    )
    _force_episodes(rng, cust, cal)
    for arr in (cust.ep_end, cust.bankrupt, cust.write_off, cust.recovery):
        arr[arr > end] = NEVER

    # Attributes drawn after the episodes are fixed.
    pool_pick = rng.integers(0, 1000, n)
    for ent, pool in COLLECTORS.items():
        mask = cust.entity == ent
        cust.collector[mask] = pool[pool_pick[mask] % len(pool)]
    review = end - uniform_int(rng, 0, 540, n)
    review = np.maximum(review, cal.month_start[cust.start_m] + 10)
    cust.last_review = np.where((rng.random(n) < 0.06) | (review > end), NEVER, review)
    cust.public = rng.random(n) < np.array([0.8, 0.15, 0.0, 0.7])[cust.segment]
    _draw_groups(rng, cust)
    return cust


# (kind, start offset from end, catch-up end offset or None, termination offset from start,
#  bankrupt offset from start, write-off offset from bankruptcy, recovery offset from write-off)
_FORCED = (
    (EP_DEFAULT, 620, None, 90, 160, 35, 150),  # written off, later partly recovered
    (EP_DEFAULT, 470, None, 80, 200, 40, None),  # written off, nothing recovered
    (EP_DEFAULT, 260, None, 85, 215, None, None),  # bankrupt, not yet written off
    (EP_CATCHUP, 150, None, None, None, None, None),  # > 90 days past due: in collections
    (EP_CATCHUP, 62, None, None, None, None, None),  # 45-89 days past due: suspended
    (EP_CATCHUP, 330, 160, None, None, None, None),  # agency referral, then paid on a plan
)


def _force_episodes(rng: np.random.Generator, c: Customers, cal: Calendar) -> None:
    """Put the guaranteed collections situations on the worst-rated customers."""
    end = cal.end_date
    key = rng.random(c.n)
    order = np.lexsort((key, -c.rating))  # worst rating first, random tie-break
    chosen = order[: len(_FORCED)]
    for slot, (i, spec) in enumerate(zip(chosen, _FORCED, strict=False), start=1):
        kind, s_off, e_off, term, bk, wo, rec = spec
        c.forced[i] = slot
        c.start_m[i] = min(c.start_m[i], 2)
        c.churned[i] = False
        c.prepay[i] = False
        c.batch[i] = True
        c.rating[i] = max(c.rating[i], 7)
        c.p_on[i], c.mean_late[i] = 0.9, 5.0  # a good payer until the episode starts
        c.p_partial[i] = c.p_short[i] = 0.0
        c.ep_kind[i] = kind
        c.ep_start[i] = end - s_off
        c.ep_end[i] = end - e_off if e_off is not None else NEVER
        c.last_m[i] = cal.n - 1
        c.bankrupt[i] = c.write_off[i] = c.recovery[i] = NEVER
        if kind == EP_DEFAULT:
            c.last_m[i] = int(cal.month_of(np.array([c.ep_start[i] + term]))[0])
            c.bankrupt[i] = c.ep_start[i] + bk
            if wo is not None:
                c.write_off[i] = c.bankrupt[i] + wo
            if rec is not None:
                c.recovery[i] = c.write_off[i] + rec
                c.recovery_pct[i] = 25


def _draw_groups(rng: np.random.Generator, c: Customers) -> None:
    """About 10% of customers belong to a group whose parent is another (large) customer."""
    big = np.flatnonzero(np.isin(c.segment, [ENT, CARRIER]))
    if len(big) == 0 or c.n < 10:
        return
    n_par = max(1, round(0.03 * c.n))
    parents = big[rng.permutation(len(big))[:n_par]]
    others = np.setdiff1d(np.arange(c.n), parents)
    n_child = min(len(others), max(1, round(0.1 * c.n)))
    children = others[rng.permutation(len(others))[:n_child]]
    c.parent[children] = parents[rng.integers(0, len(parents), n_child)]
