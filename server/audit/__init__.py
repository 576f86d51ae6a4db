"""The append-only audit log: who did what, when, on which device, approved by whom."""
