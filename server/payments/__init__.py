"""Payments: Open Banking QR, Stripe, Apple Pay and cash, with a reconciling ledger (issue 5)."""
