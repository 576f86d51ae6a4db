"""Enrolment refusals; each code is documented in docs/errors.md."""

from __future__ import annotations

from server.errors import Forbidden


class DeviceNotRecognised(Forbidden):
    """Enrolling again as a device the server cannot confirm. An unknown id, another
    location's or restaurant's device, a wrong secret and a code made for another device
    all answer exactly alike, so ids and secrets cannot be probed one by one."""

    code = "enrolment.device_not_recognised"
    title = "This iPad cannot enrol again as that device"


class DeviceRevoked(Forbidden):
    """The device proved itself, but a manager revoked it: only a code made for it brings it
    back."""

    code = "enrolment.device_revoked"
    title = "This iPad was revoked; a manager must make a code for it"
