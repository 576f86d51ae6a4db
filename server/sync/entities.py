"""Every syncable entity type, registered by importing its domain's sync module."""

from __future__ import annotations

import server.cashup.drawer_sync
import server.catalog.sync
import server.floor.sync
import server.orders.sync
import server.payments.offline_cards
import server.payments.sync
import server.timeclock.sync  # noqa: F401  (imported for their registrations)
