"""Cash application: proposals to apply unapplied cash and credit memos to open invoices.

One module per job: :mod:`.candidates` (what is open at the period end, and the policy),
:mod:`.ids` (document ids named in remittance text, mangled or not), :mod:`.allocate` (the
running balances every rule draws from, so nothing is ever over-applied), :mod:`.rules`
(exact amount, combination, tolerance), :mod:`.names` (payer names against customer names),
:mod:`.match` (the rules in order) and :mod:`.report` (upload file, worklist, figures, chart).
"""
