#include "util.h"

#include <sys/mman.h>

#include <c10/core/Allocator.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace motif {

// ================================ JSON ===================================================
const Json* Json::find(const std::string& key) const {
  if (kind != Object) return nullptr;
  for (auto& kv : obj)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

const Json& Json::at(const std::string& key) const {
  const Json* j = find(key);
  if (!j) fail(MOTIF_ERR_FORMAT, "JSON: missing key '" + key + "'");
  return *j;
}

Json& Json::set(const std::string& key, Json v) {
  for (auto& kv : obj)
    if (kv.first == key) return kv.second = std::move(v);
  obj.emplace_back(key, std::move(v));
  return obj.back().second;
}

namespace {
struct Parser {
  const std::string& s;
  size_t i = 0;
  [[noreturn]] void bad(const char* what) {
    fail(MOTIF_ERR_FORMAT, std::string("JSON: ") + what + " at offset " + std::to_string(i));
  }
  void ws() { while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i; }
  bool lit(const char* t) {
    size_t n = std::strlen(t);
    if (s.compare(i, n, t) != 0) return false;
    i += n;
    return true;
  }
  static void utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) { out += char(0xC0 | (cp >> 6)); out += char(0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) { out += char(0xE0 | (cp >> 12)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F)); }
    else { out += char(0xF0 | (cp >> 18)); out += char(0x80 | ((cp >> 12) & 0x3F)); out += char(0x80 | ((cp >> 6) & 0x3F)); out += char(0x80 | (cp & 0x3F)); }
  }
  uint32_t hex4() {
    if (i + 4 > s.size()) bad("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s[i++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else bad("bad \\u escape");
    }
    return v;
  }
  std::string string() {
    if (s[i] != '"') bad("expected string");
    ++i;
    std::string out;
    while (true) {
      if (i >= s.size()) bad("unterminated string");
      char c = s[i++];
      if (c == '"') return out;
      if (c != '\\') { out += c; continue; }
      if (i >= s.size()) bad("unterminated escape");
      char e = s[i++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s.compare(i, 2, "\\u") == 0) {
            i += 2;
            uint32_t lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8(out, cp);
          break;
        }
        default: bad("bad escape");
      }
    }
  }
  Json value(int depth) {
    if (depth > 200) bad("nesting too deep");
    ws();
    if (i >= s.size()) bad("unexpected end");
    Json j;
    char c = s[i];
    if (c == '{') {
      j.kind = Json::Object;
      ++i;
      ws();
      if (i < s.size() && s[i] == '}') { ++i; return j; }
      while (true) {
        ws();
        if (i >= s.size()) bad("unexpected end");
        std::string k = string();
        ws();
        if (i >= s.size() || s[i] != ':') bad("expected ':'");
        ++i;
        j.obj.emplace_back(std::move(k), value(depth + 1));
        ws();
        if (i < s.size() && s[i] == ',') { ++i; continue; }
        if (i < s.size() && s[i] == '}') { ++i; return j; }
        bad("expected ',' or '}'");
      }
    }
    if (c == '[') {
      j.kind = Json::Array;
      ++i;
      ws();
      if (i < s.size() && s[i] == ']') { ++i; return j; }
      while (true) {
        j.arr.push_back(value(depth + 1));
        ws();
        if (i < s.size() && s[i] == ',') { ++i; continue; }
        if (i < s.size() && s[i] == ']') { ++i; return j; }
        bad("expected ',' or ']'");
      }
    }
    if (c == '"') { j.kind = Json::String; j.str = string(); return j; }
    if (lit("true")) { j.kind = Json::Bool; j.b = true; return j; }
    if (lit("false")) { j.kind = Json::Bool; return j; }
    if (lit("null")) return j;
    // number (also accepts NaN/Infinity, which Keras' json writer may emit)
    if (lit("NaN")) { j.kind = Json::Number; j.num = NAN; return j; }
    if (lit("Infinity")) { j.kind = Json::Number; j.num = INFINITY; return j; }
    if (lit("-Infinity")) { j.kind = Json::Number; j.num = -INFINITY; return j; }
    const char* start = s.c_str() + i;
    char* end = nullptr;
    j.num = std::strtod(start, &end);
    if (end == start) bad("unexpected character");
    i += size_t(end - start);
    j.kind = Json::Number;
    return j;
  }
};
}  // namespace

Json Json::parse(const std::string& text) {
  Parser p{text};
  Json j = p.value(0);
  p.ws();
  if (p.i != text.size()) p.bad("trailing characters");
  return j;
}

std::string json_escape(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += char(c);
        }
    }
  }
  return o + "\"";
}

std::string Json::dump() const {
  switch (kind) {
    case Null: return "null";
    case Bool: return b ? "true" : "false";
    case Number: {
      if (!std::isfinite(num)) return "null";
      if (num == std::floor(num) && std::fabs(num) < 9e15) return std::to_string(int64_t(num));
      char b[32];
      std::snprintf(b, sizeof b, "%.17g", num);
      return b;
    }
    case String: return json_escape(str);
    case Array: {
      std::string o = "[";
      for (size_t k = 0; k < arr.size(); ++k) o += (k ? "," : "") + arr[k].dump();
      return o + "]";
    }
    case Object: {
      std::string o = "{";
      for (size_t k = 0; k < obj.size(); ++k)
        o += (k ? "," : "") + json_escape(obj[k].first) + ":" + obj[k].second.dump();
      return o + "}";
    }
  }
  return "null";
}

// ================================ SHA-256 ===============================================
namespace {
constexpr uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
}  // namespace

Sha256::Sha256()
    : h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19} {}

void Sha256::block(const uint8_t* p) {
  uint32_t w[64];
  for (int t = 0; t < 16; ++t)
    w[t] = uint32_t(p[4 * t]) << 24 | uint32_t(p[4 * t + 1]) << 16 | uint32_t(p[4 * t + 2]) << 8 | p[4 * t + 3];
  for (int t = 16; t < 64; ++t) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
  for (int t = 0; t < 64; ++t) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
}

void Sha256::update(const void* data, size_t len) {
  auto p = static_cast<const uint8_t*>(data);
  len_ += len;
  while (len > 0) {
    size_t n = std::min(len, 64 - fill_);
    std::memcpy(buf_ + fill_, p, n);
    fill_ += n; p += n; len -= n;
    if (fill_ == 64) { block(buf_); fill_ = 0; }
  }
}

std::string Sha256::hex() {
  uint64_t bits = len_ * 8;
  uint8_t pad = 0x80;
  update(&pad, 1);
  uint8_t zero = 0;
  while (fill_ != 56) update(&zero, 1);
  uint8_t lenbe[8];
  for (int k = 0; k < 8; ++k) lenbe[k] = uint8_t(bits >> (56 - 8 * k));
  update(lenbe, 8);
  char out[65];
  for (int k = 0; k < 8; ++k) std::snprintf(out + 8 * k, 9, "%08x", h_[k]);
  return std::string(out, 64);
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

struct HugePageAllocator final : c10::Allocator {
  c10::DataPtr allocate(size_t n) const override {
    void* p = nullptr;
    if (n >= kLarge) p = pool().take(n);
    else if (n > 0 && ::posix_memalign(&p, kSmallAlign, n) != 0) p = nullptr;
    if (n > 0 && !p) throw std::bad_alloc();
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }
  // also used by raw_allocate/raw_deallocate (oneDNN/ideep buffers go through this allocator)
  c10::DeleterFnPtr raw_deleter() const override { return &release; }
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
