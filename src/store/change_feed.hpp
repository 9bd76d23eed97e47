#pragma once
// The Redis change feed's logic, free of I/O (tested without a socket).
//
// Every published change carries the value the change counter took for it.
// Pub/sub delivers at most once: a message is lost when the subscriber's
// connection drops (or hangs) at the wrong moment. So the counter is also read
// every poll interval (a "versioned read"): a value read at one poll that no
// message has reached by the next poll means a change was missed, and the
// owner is told to resync (treat every cached entry as stale). With the
// subscription down, that is how changes are noticed at all — still within
// two poll intervals.
#include <cstdint>
#include <optional>
#include <string_view>

#include "tollgate/store/store.hpp"

namespace tollgate::store::redis {

struct PublishedChange {
  std::int64_t seq = 0;
  Change change;
};

// "<seq> <kind> <version> <lookups> <id>" as the write scripts publish it; nullopt for anything else.
std::optional<PublishedChange> parse_change(std::string_view payload);

class ChangeTracker {
 public:
  // A message arrived.
  void on_message(std::int64_t seq);
  // The counter read `counter`; true when a change must have been missed (resync).
  bool on_poll(std::int64_t counter);

 private:
  bool started_ = false;
  std::int64_t seen_ = 0;     // the highest counter accounted for (by a message or a resync)
  std::int64_t pending_ = 0;  // what the previous poll read
};

}  // namespace tollgate::store::redis
