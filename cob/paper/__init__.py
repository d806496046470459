"""Paper secondary claims: the CMS-1500 (02/12) and the prior payers' EOB pages, as PDF.

Some destination payers take no EDI. For them `cob secondary` / `cob run` print the claim they would have
sent as an 837P: `cms1500.py` places the built claim's data (the schema models the 837P writer would
write) in the character cells of the pre-printed red form, `eob.py` lays out each prior payer's 835 claim
payment as an explanation-of-benefits page, and `render.py` draws both with reportlab. Nothing here reads
or writes X12 text, makes a billing decision or touches a file; `cob.billing.paper` is the hook that
feeds it billed claims that passed every check.
"""
