"""The sync engine: exactly-once push, vector-clock merges and the pull feed (issue 4).

Until it lands, orders reach the server only through the demo loader and tests.
"""
