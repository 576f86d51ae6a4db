"""The ``fynlo`` command for developers and support staff."""
