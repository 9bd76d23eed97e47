#include "tollgate/http/head_check.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cctype>
#include <vector>

#include "tollgate/http/field_syntax.hpp"

namespace tollgate::http {
namespace {

using errors::Code;





HeadProblem bad(std::string message) { return {Code::bad_request, std::move(message)}; }

}  // namespace

std::size_t find_head_end(std::string_view bytes, std::size_t from) noexcept {
  auto pos = bytes.find("\r\n\r\n", from);
  return pos == std::string_view::npos ? std::string_view::npos : pos + 4;
}

// Bytes a request target may hold: visible ASCII and obs-text (what Beast's
// parser accepted before tollgate parsed heads itself), no space or control.
constexpr std::array<bool, 256> kTargetChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x100; ++c) t[c] = c != 0x7f;
  return t;
}();

std::string_view RequestHead::operator[](std::string_view name) const noexcept {
  for (const auto& [n, v] : fields_)
    if (iequals(n, name)) return v;
  return {};
}

std::optional<HeadProblem> check_head(std::string_view head, std::uint64_t max_uri_bytes) {
  thread_local RequestHead scratch;
  return parse_head(head, max_uri_bytes, scratch);
}

std::optional<HeadProblem> parse_head(std::string_view raw, std::uint64_t max_uri_bytes, RequestHead& out) {
  out.raw_.assign(raw);
  out.fields_.clear();
  out.content_length_.reset();
  out.chunked_ = false;
  const std::string_view head = out.raw_;
  auto line_end = head.find("\r\n");
  if (line_end == std::string_view::npos) return bad("the request head is incomplete");
  std::string_view request_line = head.substr(0, line_end);
  auto sp1 = request_line.find(' ');
  auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return bad("the request line must be METHOD SP target SP HTTP-version");
  std::string_view method = request_line.substr(0, sp1);
  std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = request_line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); }))
    return bad("the request method must be a token");
  if (target.size() > max_uri_bytes)
    return HeadProblem{Code::uri_too_long, "the request target is longer than server.limits.max_uri_bytes (" +
                                               std::to_string(max_uri_bytes) + " bytes)"};
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return bad("only HTTP/1.0 and HTTP/1.1 are served");
  // Origin-form only (and `*` for OPTIONS): tollgate is not a forward proxy, and
  // an absolute-form target must not choose where a relay call goes (SPEC §5).
  if (target.empty() || (target.front() != '/' && !(target == "*" && request_line.substr(0, sp1) == "OPTIONS")))
    return bad("the request target must be a path (origin-form); absolute-form and authority-form are refused");
  if (!std::all_of(target.begin(), target.end(), [](char c) { return kTargetChar[static_cast<unsigned char>(c)]; }))
    return bad("the request target has a space or a control character");
  const bool http10 = version == "HTTP/1.0";
  bool listed_close = false, listed_keep_alive = false;

  int host_count = 0;
  std::vector<std::string_view> content_lengths;
  std::vector<std::string_view> codings;
  bool has_te = false;

  std::size_t pos = line_end + 2;
  while (pos < head.size()) {
    std::string_view name, value;
    std::size_t next = scan_plain_field(head, pos, name, value);
    if (next == std::string_view::npos) {  // the head's end, or a line that breaks a rule: which one
      auto end = head.find("\r\n", pos);
      if (end == std::string_view::npos) return bad("a header line does not end in CRLF");
      if (end == pos) break;  // the empty line that ends the head
      std::string_view line = head.substr(pos, end - pos);
      if (line.front() == ' ' || line.front() == '\t')
        return bad("obsolete line folding (a header line starting with whitespace) is not accepted");
      auto colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return bad("a header line has no field name");
      name = line.substr(0, colon);
      if (!std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); }))
        return bad("a header field name has a character outside the token set (or whitespace before the colon)");
      value = trim_ows(line.substr(colon + 1));
      for (unsigned char c : value)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return bad("a header field value has a control character");
      next = end + 2;
    }
    out.fields_.emplace_back(name, value);
    if (iequals(name, "host")) {
      ++host_count;
    } else if (iequals(name, "connection")) {
      for (std::string_view rest = value; !rest.empty();) {
        const auto comma = rest.find(',');
        const auto token = trim_ows(rest.substr(0, comma));
        listed_close = listed_close || iequals(token, "close");
        listed_keep_alive = listed_keep_alive || iequals(token, "keep-alive");
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
    } else if (iequals(name, "content-length")) {
      split_list(value, content_lengths);
      if (value.empty()) content_lengths.push_back(value);
    } else if (iequals(name, "transfer-encoding")) {
      has_te = true;
      split_list(value, codings);
    }
    pos = next;
  }

  if (host_count > 1) return bad("the request has more than one Host header");
  if (host_count == 0 && !http10) return bad("an HTTP/1.1 request must have a Host header");
  for (auto cl : content_lengths) {
    if (cl.empty() || !std::all_of(cl.begin(), cl.end(), [](char c) { return c >= '0' && c <= '9'; }) || cl.size() > 19)
      return bad("Content-Length must be a decimal number");
    if (trim_ows(cl) != trim_ows(content_lengths.front())) return bad("the request has differing Content-Length values");
  }
  if (has_te) {
    if (http10) return bad("Transfer-Encoding is not allowed on an HTTP/1.0 request");
    if (!content_lengths.empty()) return bad("the request has both Transfer-Encoding and Content-Length");
    if (codings.empty() || !iequals(codings.back(), "chunked"))
      return bad("a Transfer-Encoding must end in chunked");
    if (codings.size() > 1)
      return HeadProblem{Code::not_implemented, "only Transfer-Encoding: chunked is supported"};
  }
  out.method_ = method;
  out.target_ = target;
  out.version_ = http10 ? 10 : 11;
  out.chunked_ = has_te;
  if (!content_lengths.empty()) {
    std::uint64_t n = 0;
    for (char c : content_lengths.front()) {
      const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
      if (n > (UINT64_MAX - digit) / 10) return bad("Content-Length must be a decimal number");
      n = n * 10 + digit;
    }
    out.content_length_ = n;
  }
  out.keep_alive_ = !listed_close && (!http10 || listed_keep_alive);
  return std::nullopt;
}

}  // namespace tollgate::http
