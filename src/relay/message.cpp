#include "tollgate/relay/message.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "tollgate/errors/error.hpp"
#include "tollgate/http/field_syntax.hpp"

namespace tollgate::relay {

using http::iequals;
using namespace std::string_view_literals;  // literals appended without strlen
using http::is_tchar;
using http::trim_ows;

std::string request_head(std::string_view method, std::string_view target, const Headers& headers) {
  std::size_t size = method.size() + target.size() + 14;
  for (const auto& [name, value] : headers) size += name.size() + value.size() + 4;
  // Written through a cursor into the exact room: a header line's four pieces
  // cost no capacity check each.
  std::string out(size, '\0');
  char* p = out.data();
  const auto put = [&p](std::string_view piece) { p = errors::write_raw(p, piece); };
  put(method);
  put(" "sv);
  put(target);
  put(" HTTP/1.1\r\n"sv);
  for (const auto& [name, value] : headers) {
    put(name);
    put(": "sv);
    put(value);
    put("\r\n"sv);
  }
  put("\r\n"sv);
  return out;
}

std::optional<std::string> check_response_head(std::string_view head, std::vector<FieldView>* fields) {
  auto line_end = head.find("\r\n");
  if (line_end == std::string_view::npos) return "the response head is incomplete";
  // Checked as they come, without collecting them: every Content-Length
  // element must be digits and equal to the first; Transfer-Encoding must be
  // exactly one element, chunked.
  std::string_view first_length;
  std::optional<std::string> length_problem;
  std::size_t codings = 0;
  bool only_chunked = true;
  bool has_te = false;
  std::size_t pos = line_end + 2;
  while (pos < head.size()) {
    std::string_view name, value;
    std::size_t next = http::scan_plain_field(head, pos, name, value);
    if (next == std::string_view::npos) {  // the head's end, or a line that breaks a rule: which one
      auto end = head.find("\r\n", pos);
      if (end == std::string_view::npos) return "a header line does not end in CRLF";
      if (end == pos) break;
      std::string_view line = head.substr(pos, end - pos);
      if (line.front() == ' ' || line.front() == '\t') return "obsolete line folding in the response head";
      auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return "a response header line has no field name";
      name = line.substr(0, colon);
      if (!std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); }))
        return "a response header name has a character outside the token set";
      value = trim_ows(line.substr(colon + 1));
      for (unsigned char c : value)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return "a response header value has a control character";
      next = end + 2;
    }
    if (fields) fields->emplace_back(name, value);
    if (iequals(name, "content-length")) {
      if (value.empty()) return "an empty Content-Length in the response";
      http::for_each_list_item(value, [&](std::string_view length) {
        if (length_problem) return;
        if (length.size() > 19 ||
            !std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; }))
          length_problem = "a malformed Content-Length in the response";
        else if (first_length.empty())
          first_length = length;
        else if (length != first_length)
          length_problem = "differing Content-Length values in the response";
      });
    } else if (iequals(name, "transfer-encoding")) {
      has_te = true;
      http::for_each_list_item(value, [&](std::string_view coding) {
        ++codings;
        only_chunked = only_chunked && iequals(coding, "chunked");
      });
    }
    pos = next;
  }
  if (length_problem) return length_problem;
  if (has_te) {
    if (!first_length.empty()) return "Transfer-Encoding together with Content-Length in the response";
    if (codings != 1 || !only_chunked) return "a Transfer-Encoding other than chunked in the response";
  }
  return std::nullopt;
}

}  // namespace tollgate::relay
