"""Load tests: the locust scenarios and ``make bench``, which runs them against a private server.

Kept out of the test paths: nothing here runs under pytest.
"""
