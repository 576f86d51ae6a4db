"""Database access: engine, pool, transactions and the private dev/test PostgreSQL cluster."""
