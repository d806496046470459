"""`python -m cob` is the `cob` command."""

from cob.cli import main

main()
