#include "network.hpp"
#include "tollgate/config/load.hpp"

namespace tollgate::config {

// The sentences name what changed but never a value of store or secrets: a
// Redis URL may carry a password, and secrets are secrets.
std::vector<std::string> reload_blockers(const Config& current, const Config& next) {
  std::vector<std::string> out;
  if (current.server.listen != next.server.listen) {
    out.push_back("server.listen changed from " + detail::format_listen(current.server.listen) + " to " +
                  detail::format_listen(next.server.listen) +
                  "; the listening socket cannot move while serving, so restart tollgate to apply it");
  }
  if (current.store != next.store) {
    out.push_back(
        "store changed; tollgate keeps its store connection across a reload, so restart it to apply the change");
  }
  if (current.secrets != next.secrets) {
    out.push_back("secrets changed; the master keys are fixed while serving, so restart tollgate to apply the change");
  }
  return out;
}

}  // namespace tollgate::config
