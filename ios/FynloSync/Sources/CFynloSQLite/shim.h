// The system SQLite (libsqlite3-dev on Debian, the SDK's on Apple platforms), under a module
// name no other package uses (GRDB's is GRDBSQLite; Apple's SDK already has SQLite3).
#include <sqlite3.h>

// Swift cannot call C variadic functions: fixed-argument wrappers for what we configure.
static inline int fynlo_sqlite3_db_config_defensive(sqlite3 *db, int on) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, on, (int *)0);
}
