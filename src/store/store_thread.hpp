#pragma once
// A thread of its own for a backend whose calls block (SQLite): operations are
// queued to it in order, and each result resumes the awaiting coroutine on that
// coroutine's own executor, so a worker's io_context never waits on the disk.
#include <exception>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tollgate/store/store.hpp"

namespace tollgate::store {

class StoreThread {
 public:
  // Starts the thread; `name` shows in ps/top/gdb (at most 15 characters).
  explicit StoreThread(const std::string& name);
  // Runs every job already queued, then joins.
  ~StoreThread();
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  // Runs `job` (a callable returning Result<T>) on the store thread. A job that
  // throws yields Errc::unavailable naming `operation`; nothing escapes to the caller.
  template <typename T, typename Job>
  Task<T> run(std::string_view operation, Job job) {
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(Result<T>)>(
        [this, operation](auto handler, Job job) {
          // Keeps the caller's io_context running until the result is back.
          auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
          boost::asio::post(context_, [operation, handler = std::move(handler), work = std::move(work),
                                       job = std::move(job)]() mutable {
            Result<T> result = invoke<T>(operation, job);
            auto home = work.get_executor();
            boost::asio::post(home, [handler = std::move(handler), result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
            work.reset();
          });
        },
        boost::asio::use_awaitable, std::move(job));
  }

 private:
  template <typename T, typename Job>
  static Result<T> invoke(std::string_view operation, Job& job) noexcept {
    try {
      return job();
    } catch (const std::exception& e) {
      return Error{Errc::unavailable, std::string(operation) + ": " + e.what()};
    } catch (...) {
      return Error{Errc::unavailable, std::string(operation) + ": unexpected failure"};
    }
  }

  boost::asio::io_context context_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> keep_running_;
  std::thread thread_;
};

}  // namespace tollgate::store
