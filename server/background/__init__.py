"""Background work that must run in one process of the fleet at a time (``leases.py``)."""
