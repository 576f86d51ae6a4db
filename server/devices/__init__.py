"""Enrolled iPads: one-time enrolment codes, device identities, revocation."""
