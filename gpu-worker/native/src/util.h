// Small utilities of the engine: typed errors, JSON parsing, the dedicated engine thread and
// the huge-page CPU allocator.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <nlohmann/json_fwd.hpp>

#include "motif_engine.h"

namespace motif {

// Every failure inside the engine is thrown as MotifError (or a c10::Error / std::bad_alloc
// from libtorch); the C API layer converts them into a status code + thread-local message.
struct MotifError : std::runtime_error {
  int code;
  MotifError(int c, const std::string& m) : std::runtime_error(m), code(c) {}
};
[[noreturn]] inline void fail(int code, const std::string& msg) { throw MotifError(code, msg); }

// ---- JSON: nlohmann/json (https://json.nlohmann.me) ---------------------------------------
// ordered_json keeps object keys in insertion order (nlohmann::json would sort them), so the
// metadata we write reads in a stable, logical order and a caller's user metadata comes back
// as written. Missing keys / wrong types throw Json::exception from at() / get(); code reading
// a file catches it and reports MOTIF_ERR_FORMAT.
using Json = nlohmann::ordered_json;
// Json::parse plus what our files need (see util.cpp); throws MOTIF_ERR_FORMAT ("JSON: ...").
Json parse_json(const std::string& text);

// ---- the engine thread --------------------------------------------------------------------
// OpenMP (Debian's libtorch) keeps one thread team per *calling* thread, and
// torch::set_num_threads only configures the calling thread's team. .NET calls arrive on
// arbitrary pool threads, so all torch work is funnelled through one long-lived thread: one
// team of the configured size, no oversubscription, and models are never used concurrently.
class EngineThread {
 public:
  static EngineThread& get();
  template <class F>
  auto run(F&& f) -> decltype(f()) {
    if (std::this_thread::get_id() == worker_id_) return f();  // already on it (nested)
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> fut = task->get_future();
    {
      std::lock_guard<std::mutex> lk(mu_);
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return fut.get();  // rethrows the task's exception on the caller's thread
  }
 private:
  EngineThread();
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::thread::id worker_id_;
};

// Installs the 2 MiB-aligned, MADV_HUGEPAGE CPU allocator (see util.cpp for why).
// Idempotent; disabled by MOTIF_HUGEPAGES=0 in the environment.
void install_hugepage_allocator();

}  // namespace motif
