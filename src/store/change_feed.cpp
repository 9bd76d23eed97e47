#include "change_feed.hpp"

#include <charconv>
#include <string>

namespace tollgate::store::redis {
namespace {

std::optional<std::int64_t> number(std::string_view text) {
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || out < 0) return std::nullopt;
  return out;
}

// The next space-separated word of `text`, consumed.
std::string_view word(std::string_view& text) {
  const auto space = text.find(' ');
  const auto out = text.substr(0, space);
  text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  return out;
}

}  // namespace

std::optional<PublishedChange> parse_change(std::string_view payload) {
  const auto seq = number(word(payload));
  const auto kind = word(payload);
  const auto version = number(word(payload));
  const auto lookups = word(payload);
  const auto id = payload;  // the rest: ids have no spaces, but nothing depends on it
  if (!seq || !version || id.empty() || (lookups != "0" && lookups != "1")) return std::nullopt;
  PublishedChange out;
  out.seq = *seq;
  if (kind == "a") out.change.kind = Change::Kind::auth_config;
  else if (kind == "k") out.change.kind = Change::Kind::api_key;
  else return std::nullopt;
  out.change.id = std::string(id);
  out.change.version = static_cast<std::uint64_t>(*version);
  out.change.lookups = lookups == "1";
  return out;
}

void ChangeTracker::on_message(std::int64_t seq) {
  if (seq > seen_) seen_ = seq;
}

bool ChangeTracker::on_poll(std::int64_t counter) {
  if (!started_) {
    // Nothing was cached from before the feed ran as far as this tracker knows:
    // the first reading is the baseline.
    started_ = true;
    if (counter > seen_) seen_ = counter;
    pending_ = counter;
    return false;
  }
  bool missed = false;
  if (pending_ > seen_) missed = true;  // a change counted a poll ago never arrived as a message
  if (counter < seen_) missed = true;   // the counter went back: the data was lost or replaced
  if (missed) seen_ = counter;          // the resync covers everything up to now
  pending_ = counter;
  return missed;
}

}  // namespace tollgate::store::redis
