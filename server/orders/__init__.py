"""Orders: tickets, lines and what they cost."""
