#include "store_thread.hpp"

#include <pthread.h>

namespace tollgate::store {

StoreThread::StoreThread(const std::string& name) : keep_running_(context_.get_executor()) {
  thread_ = std::thread([this, name] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    context_.run();
  });
}

StoreThread::~StoreThread() {
  keep_running_.reset();
  thread_.join();
}

}  // namespace tollgate::store
