"""cob: secondary (and tertiary) claims from the primary payer's 835 and the original 837P.

One package, one way through it (read -> schemas -> billing -> schemas -> write -> validate):

- `cob.edi`      X12 only: tokens, envelopes, the IG tables and the one walker, reader, writer, validator
- `cob.schemas`  pydantic models named after the TR3 loops: the contract between the stages
- `cob.billing`  the COB pipeline of `cob secondary`: consolidate, triage, match, build, check, output
- `cob.rules`    the COB rule book (balancing and situational rules) and order of benefits / payment rules
- `cob.run`      `cob run`: unattended batch runs over drop folders, with a state database
- `cob.fixtures` the synthetic 837P/835 generator and a small committed sample
- `cob.cli`      the `cob` command: one thin click command per library call (only it imports click)
- `cob.progress` the `progress(done, total, label)` callback long library calls report through
"""
