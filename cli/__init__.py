"""`partnerflow`, the command line: its commands and the Rich tables they print.

Each command module loads what it needs when it runs, so `partnerflow --help`
answers without loading the API, the worker or the local stack.
"""
