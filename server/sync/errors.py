"""Sync errors; each has a stable code listed in docs/sync-protocol.md."""

from __future__ import annotations

from server.errors import ClientError, Conflict, Forbidden


class DeviceMismatch(Forbidden):
    code = "device_mismatch"
    title = "The batch names another device than the token"


class SequenceGap(Conflict):
    code = "sequence_gap"
    title = "Changes are missing before this batch"


class UpgradeRequired(ClientError):
    status = 426
    code = "upgrade_required"
    title = "This app version is too old or too new for the server"


class ResyncRequired(ClientError):
    status = 410
    code = "resync_required"
    title = "Offline too long: pull again from an empty cursor"
