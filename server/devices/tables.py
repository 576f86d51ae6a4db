"""Enrolment codes and enrolled devices."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from server.db.columns import created_at_column, id_column
from server.restaurants.tables import Location, Restaurant


class EnrolmentCode(Table, tablename="enrolment_codes"):
    """A one-time code a manager gives an iPad; only its hash is stored."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    location_id = ForeignKey(references=Location, on_delete=OnDelete.cascade, null=False)
    code_hash = Varchar(length=64, unique=True, secret=True, help_text="SHA-256, hex.")
    created_by = UUID(help_text="The user who created it.")
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    device_id = UUID(null=True, default=None, help_text="The device it enrolled.")
    for_device_id = UUID(
        null=True,
        default=None,
        help_text="Made for this device: it enrols no other, and brings it back if revoked.",
    )
    created_at = created_at_column()


class Device(Table, tablename="devices"):
    """An enrolled iPad. Enrolling again with its secret keeps its identity and prefix; a
    reinstalled app (which has lost the secret) enrols again and becomes a new device."""

    id = id_column()
    restaurant_id = ForeignKey(references=Restaurant, on_delete=OnDelete.restrict, null=False)
    location_id = ForeignKey(references=Location, on_delete=OnDelete.restrict, null=False)
    name = Varchar(length=120)
    prefix = Varchar(length=3, help_text="Order-number prefix, unique per location.")
    epoch = Integer(help_text="Enrolment generation at the location; grows with every device.")
    enrolled_at = Timestamptz()
    last_seen_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    secret_hash = Varchar(
        length=64,
        null=True,
        default=None,
        secret=True,
        help_text="SHA-256 (hex) of the device secret it proves itself with when enrolling again.",
    )
