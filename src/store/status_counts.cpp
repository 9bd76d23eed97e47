// The default counts by status: every tenant, then every record of each, a
// page at a time through the public list operations. O(records) reads, which
// is why callers refresh these every few seconds rather than per request.
#include "tollgate/store/store.hpp"

namespace tollgate::store {
namespace {

constexpr std::size_t kPage = 500;

template <typename Filter, typename ListOne>
Task<StatusCounts> count_over_tenants(Store& store, ListOne list_one) {
  StatusCounts counts;
  std::string tenants_cursor;
  do {
    auto tenants = co_await store.list_tenants(tenants_cursor, kPage);
    if (!tenants) co_return tenants.error();
    for (const auto& tenant : tenants->items) {
      std::string cursor;
      do {
        auto page = co_await list_one(tenant.id, cursor);
        if (!page) co_return page.error();
        for (const auto& record : page->items) ++counts[record.status];
        cursor = page->next_cursor;
      } while (!cursor.empty());
    }
    tenants_cursor = tenants->next_cursor;
  } while (!tenants_cursor.empty());
  co_return counts;
}

}  // namespace

Task<StatusCounts> Store::count_setup_sessions_by_status() {
  return count_over_tenants<SetupSessionFilter>(*this, [this](const std::string& tenant, const std::string& cursor) {
    return list_setup_sessions(tenant, SetupSessionFilter{}, cursor, kPage);
  });
}

Task<StatusCounts> Store::count_auth_configs_by_status() {
  return count_over_tenants<AuthConfigFilter>(*this, [this](const std::string& tenant, const std::string& cursor) {
    return list_auth_configs(tenant, AuthConfigFilter{}, cursor, kPage);
  });
}

}  // namespace tollgate::store

namespace tollgate::store {

void Store::watch_changes(ChangeHandler) {}

}  // namespace tollgate::store
