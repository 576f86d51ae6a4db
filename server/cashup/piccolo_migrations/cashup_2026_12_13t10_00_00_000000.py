"""Cash-up (issue 19): drawers, drawer sessions and their movements, and numbered Z-reports.

A drawer session is opened with a counted float and closed with a blind count; paid-ins and
paid-outs are append-only movements of a session. A Z-report is issued once per location and
business day, numbered without gaps per location, and never changed (docs/cash-up.md).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-13T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "cash-up"

STATEMENTS = [
    """
    CREATE TABLE cash_drawers (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
        archived boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (location_id, name)
    )
    """,
    """
    CREATE TABLE drawer_sessions (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        drawer_id uuid NOT NULL REFERENCES cash_drawers (id),
        currency char(3) NOT NULL,
        opened_at timestamptz NOT NULL,
        opened_by uuid NOT NULL REFERENCES employees (id),
        opened_device_id uuid NULL REFERENCES devices (id),
        opening_float bigint NOT NULL CHECK (opening_float >= 0),
        float_counts jsonb NOT NULL DEFAULT jsonb_build_object(),
        status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'merged')),
        merged_into uuid NULL REFERENCES drawer_sessions (id),
        closed_at timestamptz NULL,
        closed_by uuid NULL REFERENCES employees (id),
        closed_device_id uuid NULL REFERENCES devices (id),
        counts jsonb NULL,
        counted_cash bigint NULL CHECK (counted_cash >= 0),
        expected_cash bigint NULL,
        over_short bigint NULL,
        flagged boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'merged') = (merged_into IS NOT NULL)),
        CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
        CHECK (status <> 'closed' OR (counted_cash IS NOT NULL AND expected_cash IS NOT NULL
            AND over_short = counted_cash - expected_cash))
    )
    """,
    "CREATE INDEX drawer_sessions_drawer ON drawer_sessions (drawer_id, opened_at)",
    "CREATE INDEX drawer_sessions_location ON drawer_sessions (restaurant_id, location_id, opened_at)",
    """
    CREATE TABLE drawer_movements (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        session_id uuid NOT NULL REFERENCES drawer_sessions (id),
        kind text NOT NULL CHECK (kind IN ('paid_in', 'paid_out')),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        reason text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
        employee_id uuid NOT NULL REFERENCES employees (id),
        approved_by uuid NULL REFERENCES employees (id),
        device_id uuid NULL REFERENCES devices (id),
        at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX drawer_movements_session ON drawer_movements (session_id, at)",
    """
    CREATE TABLE z_reports (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        number integer NOT NULL CHECK (number >= 1),
        business_day date NOT NULL,
        currency char(3) NOT NULL,
        figures jsonb NOT NULL,
        issued_by uuid NULL,
        issued_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (location_id, number),
        UNIQUE (location_id, business_day)
    )
    """,
    # Gap-free numbering: the next number per location is taken under this row's lock, in the
    # transaction that inserts the report, so a rolled-back close leaves no hole.
    """
    CREATE TABLE z_report_counters (
        location_id uuid PRIMARY KEY REFERENCES locations (id),
        last_number integer NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE FUNCTION cashup_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
    END $$
    """,
    """
    CREATE TRIGGER drawer_movements_append_only BEFORE UPDATE OR DELETE ON drawer_movements
    FOR EACH ROW EXECUTE FUNCTION cashup_append_only()
    """,
    """
    CREATE TRIGGER z_reports_append_only BEFORE UPDATE OR DELETE ON z_reports
    FOR EACH ROW EXECUTE FUNCTION cashup_append_only()
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="cashup", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
