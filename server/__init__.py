"""Fynlo POS server."""

import os

# Piccolo finds its engine and apps through this module path; set once for every entry point.
os.environ.setdefault("PICCOLO_CONF", "server.db.piccolo_conf")
