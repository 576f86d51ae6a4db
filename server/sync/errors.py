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


class QuarantineSettled(Conflict):
    code = "sync.quarantine_settled"
    title = "The quarantined change was already dismissed or applied"


class RetryFromRevokedDevice(Conflict):
    """A revoked iPad is not trusted any more, so nothing it sent is applied, even by a
    manager's retry; the change can still be dismissed."""

    code = "sync.device_revoked"
    title = "The iPad that made this change has been revoked: dismiss the change instead"
