#include "util.h"

#include <sys/mman.h>

#include <c10/core/Allocator.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace motif {

// ================================ JSON ===================================================
namespace {
// Python's json module (which wrote Keras' model.json) emits NaN, Infinity and -Infinity for
// non-finite floats. They are not JSON (RFC 8259) and nlohmann rejects them, so outside strings
// they become null: what dump() writes for a non-finite double anyway.
std::string nonfinite_to_null(const std::string& s) {
  if (s.find("NaN") == std::string::npos && s.find("Infinity") == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (in_string) {
      if (s[i] == '\\' && i + 1 < s.size()) out += s[i++];  // copies the backslash; the escaped char below
      else if (s[i] == '"') in_string = false;
    } else if (s[i] == '"') {
      in_string = true;
    } else {
      const char* lit = nullptr;
      for (const char* l : {"NaN", "Infinity", "-Infinity"})
        if (s.compare(i, std::strlen(l), l) == 0) lit = l;
      if (lit) {
        out += "null";
        i += std::strlen(lit) - 1;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}
}  // namespace

Json parse_json(const std::string& text) {
  // Nesting stays bounded, as with our former parser: nlohmann parses iteratively, but dump()
  // and copies recurse per level, and checkpoint metadata comes from files. The callback sees
  // the number of enclosing arrays/objects (https://json.nlohmann.me/api/basic_json/parser_callback_t/).
  const Json::parser_callback_t bounded = [](int depth, Json::parse_event_t event, Json&) {
    if (depth >= 200 && (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start))
      fail(MOTIF_ERR_FORMAT, "JSON: nested more than 200 levels deep");
    return true;
  };
  try {
    return Json::parse(nonfinite_to_null(text), bounded);
  } catch (const Json::exception& e) {  // parse_error; out_of_range.406 for a number beyond double
    fail(MOTIF_ERR_FORMAT, std::string("JSON: ") + e.what());
  }
}

// ================================ engine thread =========================================
EngineThread& EngineThread::get() {
  // Intentionally leaked: a joinable std::thread destroyed at exit would call terminate(),
  // and joining during static destruction races with libtorch's own teardown.
  static EngineThread* instance = new EngineThread();
  return *instance;
}

EngineThread::EngineThread() {
  std::promise<std::thread::id> started;
  auto id = started.get_future();
  std::thread([this, &started] {
    started.set_value(std::this_thread::get_id());
    loop();
  }).detach();
  worker_id_ = id.get();
}

void EngineThread::loop() {
  install_hugepage_allocator();
  int threads = int(std::thread::hardware_concurrency());
  if (const char* env = std::getenv("MOTIF_NUM_THREADS")) threads = std::atoi(env);
  torch::set_num_threads(threads > 0 ? threads : 1);  // Debian's libtorch defaults to 1
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [this] { return !queue_.empty(); });
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();  // packaged_task: exceptions go to the future, never escape here
  }
}

// ================================ huge-page allocator ====================================
// Why: in this VM every page fault on fresh memory is very expensive, and libtorch allocates
// and frees its large activation / weight-reorder buffers on every forward pass. With plain
// malloc, blocks above glibc's mmap threshold go back to the kernel on free and fault in
// again, page by page, on the next batch: ResNet-50 ran ~4x slower (DESIGN.md, Engine facts).
// So blocks >= 256 KiB are mmap'd here and KEPT on free, keyed by (rounded) size: from the
// second batch on, a forward pass takes no page fault at all. Blocks >= 2 MiB are 2 MiB
// aligned and madvise(MADV_HUGEPAGE)'d (THP is in "madvise" mode here): one fault per 2 MiB
// on first use and fewer TLB misses. Small blocks stay with malloc (its heap is reused).
// This replaces GLIBC_TUNABLES=glibc.malloc.hugetlb=1 in every launcher: callers cannot
// forget it. MOTIF_HUGEPAGES=0 disables it (for comparisons); MOTIF_ALLOC_CACHE_MB bounds
// the memory kept for reuse (default 2048).
namespace {
constexpr size_t kHuge = size_t(2) << 20;
constexpr size_t kLarge = size_t(256) << 10;
constexpr size_t kSmallAlign = 64;  // c10's alignment (vectorised kernels expect it)

struct Pool {
  std::mutex mu;
  std::unordered_map<void*, size_t> live;     // large blocks in use -> mapped size
  std::unordered_multimap<size_t, void*> idle;  // large blocks kept for reuse
  size_t idle_bytes = 0, idle_limit = size_t(2048) << 20;

  static void* map(size_t size) {
    if (size < kHuge) {
      void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      return p == MAP_FAILED ? nullptr : p;
    }
    // over-map by 2 MiB and trim, to get a 2 MiB-aligned range that THP can back
    size_t span = size + kHuge;
    void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    uintptr_t base = reinterpret_cast<uintptr_t>(raw), aligned = (base + kHuge - 1) & ~(kHuge - 1);
    if (aligned > base) ::munmap(raw, aligned - base);
    if (base + span > aligned + size) ::munmap(reinterpret_cast<void*>(aligned + size), base + span - aligned - size);
    ::madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advisory
    return reinterpret_cast<void*>(aligned);
  }

  void* take(size_t n) {
    const size_t size = n >= kHuge ? (n + kHuge - 1) / kHuge * kHuge : (n + 65535) / 65536 * 65536;
    std::lock_guard<std::mutex> lk(mu);
    void* p = nullptr;
    auto it = idle.find(size);
    if (it != idle.end()) {
      p = it->second;
      idle.erase(it);
      idle_bytes -= size;
    } else if (!(p = map(size))) {
      for (auto& kv : idle) ::munmap(kv.second, kv.first);  // give the cache back, retry
      idle.clear();
      idle_bytes = 0;
      if (!(p = map(size))) return nullptr;
    }
    live[p] = size;
    return p;
  }

  void give(void* p) {
    std::unique_lock<std::mutex> lk(mu);
    auto it = live.find(p);
    if (it == live.end()) {
      lk.unlock();
      std::free(p);  // a small block from posix_memalign
      return;
    }
    size_t size = it->second;
    live.erase(it);
    if (idle_bytes + size <= idle_limit) {
      idle.emplace(size, p);
      idle_bytes += size;
    } else {
      ::munmap(p, size);
    }
  }
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose: tensors may be freed during exit
  return *p;
}

void release(void* p) {
  if (p) pool().give(p);
}

// PyTorch 2.3 made allocate() non-const and added copy_data(); Debian 12 ships 1.13, the CUDA images 2.x.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define MOTIF_ALLOCATE_CONST
#define MOTIF_ALLOCATOR_COPIES 1
#else
#define MOTIF_ALLOCATE_CONST const
#define MOTIF_ALLOCATOR_COPIES 0
#endif

struct HugePageAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) MOTIF_ALLOCATE_CONST override {
    void* p = nullptr;
    if (n >= kLarge) p = pool().take(n);
    else if (n > 0 && ::posix_memalign(&p, kSmallAlign, n) != 0) p = nullptr;
    if (n > 0 && !p) throw std::bad_alloc();
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  // also used by raw_allocate/raw_deallocate (oneDNN/ideep buffers go through this allocator)
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
#if MOTIF_ALLOCATOR_COPIES
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    if (count > 0) std::memcpy(dest, src, count);  // host memory, as every DataPtr this allocator makes
  }
#endif
};
}  // namespace

void install_hugepage_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("MOTIF_HUGEPAGES");
    if (env && std::string(env) == "0") return;
    if (const char* mb = std::getenv("MOTIF_ALLOC_CACHE_MB")) pool().idle_limit = size_t(std::atoll(mb)) << 20;
    static HugePageAllocator alloc;
    // Priority 1 beats c10's default CPU allocator (registered with priority 0). Tensors
    // allocated earlier keep their own deleter in their DataPtr, so switching is safe.
    c10::SetAllocator(c10::DeviceType::CPU, &alloc, /*priority=*/1);
  });
}

}  // namespace motif
