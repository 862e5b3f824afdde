"""`python -m qbgen` runs the command line."""

from .cli import main

main()
