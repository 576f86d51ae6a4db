"""The floor plan: tables guests sit at."""
