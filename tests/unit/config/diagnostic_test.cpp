#include <doctest/doctest.h>

#include "tollgate/config/load.hpp"

namespace tollgate::config {
namespace {

TEST_CASE("an error prints as FILE:LINE:COL: key.path: message") {
  const Diagnostic d{Diagnostic::Severity::error, "config/tollgate.yaml", 3, 5, "server.workers", "too many"};
  CHECK(d.format() == "config/tollgate.yaml:3:5: server.workers: too many");
}

TEST_CASE("a warning prints as FILE:LINE:COL: warning: key.path: message") {
  const Diagnostic d{Diagnostic::Severity::warning, "c.yaml", 2, 3, "server.listen", "clear text"};
  CHECK(d.format() == "c.yaml:2:3: warning: server.listen: clear text");
}

TEST_CASE("a diagnostic without a key path or a position leaves them out") {
  CHECK(Diagnostic{Diagnostic::Severity::error, "c.yaml", 4, 1, "", "YAML syntax error: x"}.format() ==
        "c.yaml:4:1: YAML syntax error: x");
  CHECK(Diagnostic{Diagnostic::Severity::error, "c.yaml", 0, 0, "", "the config file does not exist"}.format() ==
        "c.yaml: the config file does not exist");
}

}  // namespace
}  // namespace tollgate::config
