"""The time clock (issue 18): job roles, wage rates with history, break types, schedules, the
restaurant's clock rules, punches from iPads and managers' corrections of them.

Punches and corrections are append-only: nothing updates or deletes them (docs/time-clock.md).
Wage rates are kept with their history: a new rate is a new row from its effective date.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from server.db.raw import raw_sql

ID = "2026-12-12T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "time clock"

STATEMENTS = [
    """
    CREATE TABLE job_roles (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
        archived boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (restaurant_id, name)
    )
    """,
    """
    CREATE TABLE wage_rates (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        employee_id uuid NOT NULL REFERENCES employees (id),
        job_role_id uuid NOT NULL REFERENCES job_roles (id),
        hourly_rate bigint NOT NULL CHECK (hourly_rate BETWEEN 0 AND 1000000),
        currency char(3) NOT NULL,
        effective_from date NOT NULL,
        set_by uuid NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (employee_id, job_role_id, effective_from)
    )
    """,
    "CREATE INDEX wage_rates_employee ON wage_rates (restaurant_id, employee_id, effective_from)",
    """
    CREATE TABLE break_types (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
        paid boolean NOT NULL,
        expected_minutes integer NOT NULL CHECK (expected_minutes BETWEEN 1 AND 480),
        archived boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (restaurant_id, name)
    )
    """,
    """
    CREATE TABLE scheduled_shifts (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        employee_id uuid NOT NULL REFERENCES employees (id),
        job_role_id uuid NULL REFERENCES job_roles (id),
        starts_at timestamptz NOT NULL,
        ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX scheduled_shifts_employee ON scheduled_shifts (restaurant_id, employee_id, starts_at)",
    """
    CREATE TABLE time_clock_settings (
        restaurant_id uuid PRIMARY KEY REFERENCES restaurants (id),
        auto_close_after_minutes integer NOT NULL DEFAULT 960
            CHECK (auto_close_after_minutes BETWEEN 60 AND 2880),
        early_clock_in_minutes integer NOT NULL DEFAULT 15
            CHECK (early_clock_in_minutes BETWEEN 0 AND 240),
        late_after_minutes integer NOT NULL DEFAULT 5 CHECK (late_after_minutes BETWEEN 0 AND 240),
        weekly_overtime_minutes integer NOT NULL DEFAULT 2880
            CHECK (weekly_overtime_minutes BETWEEN 60 AND 10080),
        day_starts_at time NOT NULL DEFAULT '04:00',
        tip_pooling text NOT NULL DEFAULT 'none' CHECK (tip_pooling IN ('none', 'by_hours')),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE time_punches (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        employee_id uuid NOT NULL REFERENCES employees (id),
        kind text NOT NULL CHECK (kind IN ('clock_in', 'break_start', 'break_end', 'clock_out')),
        at timestamptz NOT NULL,
        hlc text NOT NULL DEFAULT '',
        paid boolean NOT NULL DEFAULT false,
        break_type_id uuid NULL,
        job_role_id uuid NULL,
        declared_tips bigint NOT NULL DEFAULT 0 CHECK (declared_tips >= 0),
        device_id uuid NULL,
        received_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX time_punches_employee_at ON time_punches (restaurant_id, employee_id, at)",
    """
    CREATE TABLE time_punch_corrections (
        id uuid PRIMARY KEY,
        restaurant_id uuid NOT NULL REFERENCES restaurants (id),
        location_id uuid NOT NULL REFERENCES locations (id),
        employee_id uuid NOT NULL REFERENCES employees (id),
        action text NOT NULL CHECK (action IN ('add', 'move', 'void')),
        punch_id uuid NOT NULL,
        kind text NULL CHECK (kind IN ('clock_in', 'break_start', 'break_end', 'clock_out')),
        at timestamptz NULL,
        paid boolean NOT NULL DEFAULT false,
        job_role_id uuid NULL,
        declared_tips bigint NOT NULL DEFAULT 0 CHECK (declared_tips >= 0),
        reason text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
        corrected_by uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (action = 'void' OR at IS NOT NULL),
        CHECK (action <> 'add' OR kind IS NOT NULL)
    )
    """,
    "CREATE INDEX time_punch_corrections_employee ON time_punch_corrections (restaurant_id, employee_id)",
    # A punch and its corrections are history: nothing rewrites them.
    """
    CREATE FUNCTION time_clock_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END $$
    """,
    """
    CREATE TRIGGER time_punches_append_only BEFORE UPDATE OR DELETE ON time_punches
    FOR EACH ROW EXECUTE FUNCTION time_clock_append_only()
    """,
    """
    CREATE TRIGGER time_punch_corrections_append_only
    BEFORE UPDATE OR DELETE ON time_punch_corrections
    FOR EACH ROW EXECUTE FUNCTION time_clock_append_only()
    """,
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="timeclock", description=DESCRIPTION)
    for statement in STATEMENTS:
        manager.add_raw(raw_sql(statement))
    return manager
