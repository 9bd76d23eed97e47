#pragma once
// What every client verb shares: the resolved relay and key, REST calls whose
// failures become one line, cursor-following lists, and table-or-JSON output.
#include <boost/json/value.hpp>

#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "tollgate/cli/output.hpp"
#include "tollgate/cli/rest_client.hpp"

namespace tollgate::cli {

// A call failed (an error answer, an unexpected body); what() is the line to
// print after "tollgate: ". Exit status 1.
struct CommandError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Session {
 public:
  Session(Target target, bool json, std::ostream& out, std::ostream& err);

  // One REST call; the parsed JSON answer, or nullopt for a 2xx with an empty
  // body. Throws CommandError for status ≥ 400 or a body that is not JSON,
  // ConnectionError when the relay does not answer.
  std::optional<boost::json::value> call(std::string_view method, const std::string& target,
                                         const std::optional<boost::json::value>& body = std::nullopt);

  // Any request, answered as it came (no status check): the relay verbs.
  RestResponse send(std::string_view method, const std::string& target, const RestClient::Headers& headers,
                    const std::optional<std::string>& body) {
    return client_.send(method, target, headers, body);
  }

  // One GET whose answer is not JSON (a CSV report): the body as sent.
  // Throws like call() for status ≥ 400.
  std::string fetch_text(const std::string& target);

  // GETs every page of a list (`target` may already carry a query), following
  // next_cursor; answers {"data": [all items], "next_cursor": null}.
  boost::json::value list_all(const std::string& target);

  // --json: the answer as pretty JSON; otherwise `text`.
  void print(const boost::json::value& answer, const std::string& text);

  bool json() const { return json_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

 private:
  RestClient client_;
  bool json_;
  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace tollgate::cli
