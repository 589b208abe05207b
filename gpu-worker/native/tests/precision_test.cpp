// Mixed precision and memory format (motif_model_set_precision), checked on CPU: libtorch's CPU
// autocast takes the same code path as CUDA's (one AutocastScope, only the device switch differs),
// and channels-last is a memory format on both devices.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "test_support.h"

namespace {

std::vector<float> embed(motif_model* m, const std::vector<float>& x, int64_t n, int64_t size, int64_t dim,
                         std::vector<float>* logits = nullptr) {
  std::vector<float> e(n * dim);
  int64_t d = 0, classes = 0;
  motif_model_dims(m, &d, &classes);
  if (logits) logits->assign(n * classes, 0.f);
  EXPECT_EQ(MOTIF_OK, motif_embed(m, x.data(), n, 3, size, size, e.data(), (int64_t)e.size(),
                                  logits ? logits->data() : nullptr, logits ? (int64_t)logits->size() : 0))
      << motif_last_error();
  return e;
}

std::string info(motif_model* m) {
  int64_t needed = 0;
  motif_model_info(m, nullptr, 0, &needed);
  std::string s(needed, '\0');
  EXPECT_EQ(MOTIF_OK, motif_model_info(m, s.data(), needed, &needed));
  return s;
}

struct Precision : ::testing::Test {
  motif_model* m = nullptr;
  int64_t dim = 0, classes = 0;
  std::vector<float> x;
  void SetUp() override {
    ASSERT_EQ(MOTIF_OK, motif_model_create(kTiny, "cpu", &m)) << motif_last_error();
    ASSERT_EQ(MOTIF_OK, motif_model_init(m, MOTIF_INIT_TEST_PATTERN, 0));
    ASSERT_EQ(MOTIF_OK, motif_model_dims(m, &dim, &classes));
    x = noise(3 * 3 * 48 * 48, 11);
  }
  void TearDown() override { motif_model_destroy(m); }
};

TEST_F(Precision, CpuDefaultsToFp32Contiguous) {
  auto s = info(m);
  EXPECT_NE(s.find("\"precision\":\"fp32\""), std::string::npos) << s;
  EXPECT_NE(s.find("\"channels_last\":false"), std::string::npos) << s;
}

TEST_F(Precision, ChannelsLastGivesTheSameSignatures) {
  auto reference = embed(m, x, 3, 48, dim);
  ASSERT_EQ(MOTIF_OK, motif_model_set_precision(m, MOTIF_PRECISION_FP32, 1)) << motif_last_error();
  auto nhwc = embed(m, x, 3, 48, dim);
  for (size_t i = 0; i < reference.size(); ++i) ASSERT_NEAR(reference[i], nhwc[i], 1e-5) << i;
  EXPECT_NE(info(m).find("\"channels_last\":true"), std::string::npos);
}

TEST_F(Precision, Bf16AutocastIsCloseToFp32ButNotEqual) {
  std::vector<float> logits32, logits16;
  auto fp32 = embed(m, x, 3, 48, dim, &logits32);
  ASSERT_EQ(MOTIF_OK, motif_model_set_precision(m, MOTIF_PRECISION_BF16, 1)) << motif_last_error();
  auto bf16 = embed(m, x, 3, 48, dim, &logits16);
  bool differs = false;
  for (int64_t i = 0; i < 3; ++i) {
    double dot = 0, norm = 0;
    for (int64_t k = 0; k < dim; ++k) {
      dot += double(fp32[i * dim + k]) * bf16[i * dim + k];
      norm += double(bf16[i * dim + k]) * bf16[i * dim + k];
      differs |= fp32[i * dim + k] != bf16[i * dim + k];
    }
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << "signatures stay unit-length fp32";
    EXPECT_GT(dot, 0.99) << "image " << i;
  }
  EXPECT_TRUE(differs) << "identical results: autocast did not run in bf16";
  for (float v : logits16) ASSERT_TRUE(std::isfinite(v));
  EXPECT_NE(info(m).find("\"precision\":\"bf16\""), std::string::npos);
}

TEST_F(Precision, Bf16TrainingLowersTheLoss) {
  ASSERT_EQ(MOTIF_OK, motif_model_set_precision(m, MOTIF_PRECISION_BF16, 1));
  motif_train_options o;
  motif_train_options_default(&o);
  o.learning_rate = 1e-3;
  o.margin = 0.5;
  ASSERT_EQ(MOTIF_OK, motif_train_configure(m, &o)) << motif_last_error();
  auto a = noise(4 * 3 * 32 * 32, 1), b = noise(4 * 3 * 32 * 32, 2), c = noise(4 * 3 * 32 * 32, 3);
  std::vector<float> losses;
  for (int i = 0; i < 6; ++i) {
    float loss = 0;
    ASSERT_EQ(MOTIF_OK, motif_train_step(m, a.data(), b.data(), c.data(), 4, 3, 32, 32, &loss, nullptr, nullptr, nullptr))
        << motif_last_error();
    ASSERT_TRUE(std::isfinite(loss));
    losses.push_back(loss);
  }
  EXPECT_LT(losses.back(), losses.front());
}

TEST_F(Precision, RejectsUnknownSettings) {
  EXPECT_EQ(MOTIF_ERR_INVALID_ARGUMENT, motif_model_set_precision(m, 7, 0));
  EXPECT_NE(std::string(motif_last_error()).find("precision"), std::string::npos);
  EXPECT_EQ(MOTIF_ERR_INVALID_ARGUMENT, motif_model_set_precision(m, MOTIF_PRECISION_FP32, 2));
}

}  // namespace
