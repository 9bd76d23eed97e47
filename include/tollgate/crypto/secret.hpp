#pragma once
// A secret value (token, key, client secret). Printing it shows "***", so a log
// line or a test failure message cannot leak it by accident; reading it takes
// an explicit reveal(). The bytes are wiped when the value dies.
#include <iosfwd>
#include <string>
#include <string_view>

namespace tollgate::crypto {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) noexcept;
  Secret(const Secret&) = default;
  Secret(Secret&&) noexcept = default;
  Secret& operator=(const Secret&);
  Secret& operator=(Secret&&) noexcept;
  ~Secret();

  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }
  std::size_t size() const noexcept { return value_.size(); }

  // Constant-time comparison of the contents.
  friend bool operator==(const Secret& a, const Secret& b) noexcept;

 private:
  std::string value_;
};

std::ostream& operator<<(std::ostream& os, const Secret&);

}  // namespace tollgate::crypto
