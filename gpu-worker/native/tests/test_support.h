// Helpers shared by the engine tests (C API only).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "motif_engine.h"

// ASSERT that a call succeeded, printing the engine's message otherwise.
#define MOTIF_OK_(call) ASSERT_EQ((call), MOTIF_OK) << motif_last_error()

// Owns a model handle.
struct ModelPtr {
  motif_model* m = nullptr;
  ModelPtr() = default;
  explicit ModelPtr(const std::string& arch);  // ADD_FAILURE on error
  ~ModelPtr() { motif_model_destroy(m); }
  ModelPtr(const ModelPtr&) = delete;
  ModelPtr& operator=(const ModelPtr&) = delete;
  operator motif_model*() const { return m; }
  int64_t dim() const;
  std::vector<float> embed(const std::vector<float>& x, int64_t n, int64_t h, int64_t w) const;
  std::vector<float> tensor(const std::string& name) const;
  std::string info() const;
};

// The closed-form test input of tests/golden/engine/make_golden.py (pattern_input).
std::vector<float> pattern_input(int64_t count, double scale = 1.0);
// Deterministic pseudo-random floats in [-1, 1) (for tests that are not golden).
std::vector<float> noise(int64_t count, uint32_t seed, double scale = 1.0);

struct GoldenCase {
  std::string name;
  std::map<std::string, std::string> attrs;  // arch=, input=NxCxHxW, weights=, ...
  std::vector<int64_t> input;                // N, C, H, W
  int64_t rows = 0, emb_dim = 0, logit_dim = 0;
  std::vector<float> emb, logits;
};
std::vector<GoldenCase> read_golden(const std::string& path);

std::string golden_dir();
std::string keras_model_json();  // "" if the packaged weights are not on this machine
std::string temp_path(const std::string& leaf);
std::string read_text(const std::string& path);
void write_bytes(const std::string& path, const std::string& bytes);

// tiny torchvision-layout network for fast tests
inline const char* kTiny = "torchvision:layers=1-1-1-1;base=8;classes=4";
