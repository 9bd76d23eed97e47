#pragma once
// Drives a coroutine to completion on a test's own io_context.
#include <optional>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace tollgate::test {

template <typename T>
T run_sync(boost::asio::io_context& ctx, boost::asio::awaitable<T> task) {
  // co_spawn with a completion token needs a default-constructible T, which
  // store::Result is not: hand the value out through an optional instead.
  std::optional<T> out;
  auto done = boost::asio::co_spawn(
      ctx,
      [&out, task = std::move(task)]() mutable -> boost::asio::awaitable<void> { out.emplace(co_await std::move(task)); },
      boost::asio::use_future);
  ctx.restart();
  ctx.run();
  done.get();
  return std::move(*out);
}

}  // namespace tollgate::test
