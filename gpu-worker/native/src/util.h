// Small self-contained utilities of the engine: typed errors, a minimal JSON value/parser,
// SHA-256, the dedicated engine thread and the huge-page CPU allocator.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "motif_engine.h"

namespace motif {

// Every failure inside the engine is thrown as MotifError (or a c10::Error / std::bad_alloc
// from libtorch); the C API layer converts them into a status code + thread-local message.
struct MotifError : std::runtime_error {
  int code;
  MotifError(int c, const std::string& m) : std::runtime_error(m), code(c) {}
};
[[noreturn]] inline void fail(int code, const std::string& msg) { throw MotifError(code, msg); }

// ---- JSON (only what model.json and our metadata need; no external dependency) ----------
struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::vector<std::pair<std::string, Json>> obj;  // keeps key order for stable output

  const Json* find(const std::string& key) const;   // nullptr if absent / not an object
  const Json& at(const std::string& key) const;     // throws MOTIF_ERR_FORMAT if absent
  static Json parse(const std::string& text);       // throws MOTIF_ERR_FORMAT
  std::string dump() const;                         // compact, round-trips doubles (%.17g)
  static Json of(double v) { Json j; j.kind = Number; j.num = v; return j; }
  static Json of(const std::string& s) { Json j; j.kind = String; j.str = s; return j; }
  // Not an of(bool) overload: of("text") would pick it (pointer-to-bool beats the string conversion).
  static Json boolean(bool v) { Json j; j.kind = Bool; j.b = v; return j; }
  static Json object() { Json j; j.kind = Object; return j; }
  static Json array() { Json j; j.kind = Array; return j; }
  Json& set(const std::string& key, Json v);        // object insert-or-replace
};
std::string json_escape(const std::string& s);

// ---- SHA-256 (FIPS 180-4), for checkpoint content hashes ---------------------------------
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::string hex();  // finalises
 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  uint64_t len_ = 0;
  size_t fill_ = 0;
};

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
