"""The back office in the browser, served at ``/office/`` (``docs/back-office.md``)."""

from __future__ import annotations

from server.office.plugin import OfficePlugin

__all__ = ("OfficePlugin",)
