// The Store contract (contract.hpp) against the SQLite backend.
#include <memory>

#include "contract.hpp"
#include "temp_dir.hpp"
#include "tollgate/store/sqlite.hpp"

namespace {

struct SqliteBackend {
  tollgate::test::TempDir dir;
  std::unique_ptr<tollgate::store::Store> open() { return tollgate::store::open_sqlite(dir / "tollgate.db"); }
};

}  // namespace

TYPE_TO_STRING_AS("sqlite", SqliteBackend);
TOLLGATE_STORE_CONTRACT(SqliteBackend);
