#include "tollgate/upstream/clients.hpp"

#include <thread>

namespace tollgate::upstream {

struct UpstreamClients::Entry {
  std::thread::id thread;
  Options options;
  std::unique_ptr<Client> client;
};

UpstreamClients::UpstreamClients() = default;
UpstreamClients::~UpstreamClients() = default;

namespace {

bool same(const Options& a, const Options& b) {
  return a.ca_file == b.ca_file && a.connect == b.connect && a.first_byte == b.first_byte && a.idle == b.idle &&
         a.max_response_bytes == b.max_response_bytes;
}

}  // namespace

Client& UpstreamClients::get(boost::asio::any_io_executor executor, const Options& wanted) {
  const auto me = std::this_thread::get_id();
  std::lock_guard lock(mutex_);
  for (auto& e : entries_) {
    if (e->thread != me) continue;
    // A reload that changed the CA file or timeouts gets a new client; the old
    // one is kept (a request may still be using it) until the store shuts down.
    if (same(e->options, wanted)) return *e->client;
  }
  auto entry = std::make_unique<Entry>();
  entry->thread = me;
  entry->options = wanted;
  entry->client = std::make_unique<Client>(executor, wanted);
  entries_.push_back(std::move(entry));
  return *entries_.back()->client;
}

}  // namespace tollgate::upstream
