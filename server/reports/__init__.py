"""End-of-day and back-office reports: X- and Z-reports, sales, the VAT return and platform
fee revenue (docs/reports.md). Figures are computed from orders, payments, voids and drawer
sessions alone (``day_queries`` reads, ``day_figures`` adds up); a Z-report stores them once,
numbered per location (``z_reports``)."""
