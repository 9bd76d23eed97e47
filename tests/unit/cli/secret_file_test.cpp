// Reading a secret from the file named by an option (oauth apps set --client-secret-file).
#include <doctest/doctest.h>
#include <unistd.h>

#include "temp_dir.hpp"
#include "tollgate/cli/args.hpp"
#include "tollgate/cli/secret_file.hpp"

using namespace tollgate;
using namespace tollgate::cli;
using tollgate::test::TempDir;

namespace {

// The UsageError's line, or "" when the file was read.
std::string refusal(const std::filesystem::path& file) {
  try {
    read_secret_file(file, "--client-secret-file");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a secret file's trailing CR and LF are removed, everything else is kept") {
  TempDir dir;
  CHECK(read_secret_file(dir.write("lf", "s3cret\n"), "--x").reveal() == "s3cret");
  CHECK(read_secret_file(dir.write("crlf", "s3cret\r\n"), "--x").reveal() == "s3cret");
  CHECK(read_secret_file(dir.write("many", "s3cret\n\r\n\n"), "--x").reveal() == "s3cret");
  CHECK(read_secret_file(dir.write("bare", "s3cret"), "--x").reveal() == "s3cret");
  CHECK(read_secret_file(dir.write("spaces", " a b \n"), "--x").reveal() == " a b ");
  CHECK(read_secret_file(dir.write("utf8", "pässwörd\n"), "--x").reveal() == "pässwörd");
}

TEST_CASE("a missing file is a usage error naming the option and the file") {
  TempDir dir;
  auto line = refusal(dir / "nope");
  CHECK(line == "cannot read --client-secret-file " + (dir / "nope").string() + ": no such file or directory");
}

TEST_CASE("an empty file, or one of line breaks only, is a usage error") {
  TempDir dir;
  for (const char* content : {"", "\n", "\r\n\r\n"}) {
    CAPTURE(content);
    auto file = dir.write("empty", content);
    CHECK(refusal(file) == "--client-secret-file " + file.string() + " is empty; put the secret in it (one line)");
  }
}

TEST_CASE("a directory, an unreadable file and an empty name are refused") {
  TempDir dir;
  CHECK(refusal(dir.path()).find("it is a directory") != std::string::npos);
  CHECK(refusal("") == "--client-secret-file is empty; name the file that holds the secret");
  if (::geteuid() != 0) {  // root reads anything
    auto file = dir.write("locked", "s3cret\n");
    std::filesystem::permissions(file, std::filesystem::perms::none);
    CHECK(refusal(file) == "cannot read --client-secret-file " + file.string() + ": permission denied");
  }
}

TEST_CASE("a file that holds more than a secret is refused without showing any of it") {
  TempDir dir;
  auto two_lines = dir.write("json", "{\n  \"client_secret\": \"hunter2hunter2\"\n}\n");
  auto line = refusal(two_lines);
  CHECK(line.find("holds more than one line or a control character") != std::string::npos);
  CHECK(line.find("hunter2") == std::string::npos);
  auto control = dir.write("ctl", std::string("hunter2\x1b[31mhunter2"));
  CHECK(refusal(control).find("holds more than one line") != std::string::npos);
  CHECK(refusal(control).find("hunter2") == std::string::npos);

  auto big = dir.write("big", std::string(kMaxSecretFileBytes + 1, 'a'));
  CHECK(refusal(big) == "--client-secret-file " + big.string() + " is larger than 64 KiB; it should hold only the secret");
  CHECK(read_secret_file(dir.write("max", std::string(kMaxSecretFileBytes, 'a')), "--x").size() == kMaxSecretFileBytes);
}
