#pragma once
// A Store that times every operation of the store it wraps and records it in
// the metrics (tollgate_store_operation_duration_seconds{operation} and, when
// the store itself failed — unavailable or corrupt — tollgate_store_errors_total
// {operation,code}). not_found, conflict and bad_cursor are answers about the
// data, not failures of the store, and are only timed.
#include <memory>

#include "tollgate/store/store.hpp"

namespace tollgate::store {

std::unique_ptr<Store> instrument(std::unique_ptr<Store> inner);

}  // namespace tollgate::store
