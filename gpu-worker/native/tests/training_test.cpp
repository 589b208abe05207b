// Train steps: the loss goes down, freezing does what it says, and resume is bit-exact.
#include <cmath>
#include <cstdio>
#include <cstring>

#include "test_support.h"

namespace {

const int64_t H = 48, W = 48, IMG = 3 * H * W, N = 4;

// N triplets: A and B are two noisy views of base image i, C is base image i+N.
struct Triplets {
  std::vector<float> a, b, c;
  Triplets() {
    auto base = noise(2 * N * IMG, 100);
    auto na = noise(N * IMG, 101, 0.3), nb = noise(N * IMG, 102, 0.3);
    for (int64_t i = 0; i < N * IMG; ++i) {
      a.push_back(base[size_t(i)] + na[size_t(i)]);
      b.push_back(base[size_t(i)] + nb[size_t(i)]);
      c.push_back(base[size_t(N * IMG + i)]);
    }
  }
};

motif_train_options options() {
  motif_train_options o;
  motif_train_options_default(&o);
  o.margin = 0.2;  // large enough that the untrained tiny network has a positive loss
  o.learning_rate = 1e-3;
  o.reduction = MOTIF_REDUCTION_MEAN;
  return o;
}

float eval_loss(const ModelPtr& m, const Triplets& t, const motif_train_options& o) {
  auto ea = m.embed(t.a, N, H, W), eb = m.embed(t.b, N, H, W), ec = m.embed(t.c, N, H, W);
  float loss = -1;
  EXPECT_EQ(motif_loss_triplets(ea.data(), eb.data(), ec.data(), N, m.dim(), &o, &loss, nullptr, nullptr, nullptr),
            MOTIF_OK) << motif_last_error();
  return loss;
}

float step(const ModelPtr& m, const Triplets& t, float* dab = nullptr, float* dac = nullptr, float* dbc = nullptr) {
  float loss = -1;
  EXPECT_EQ(motif_train_step(m, t.a.data(), t.b.data(), t.c.data(), N, 3, H, W, &loss, dab, dac, dbc), MOTIF_OK)
      << motif_last_error();
  return loss;
}

TEST(Train, StepBeforeConfigureIsAStateError) {
  ModelPtr m(kTiny);
  Triplets t;
  float loss;
  EXPECT_EQ(motif_train_step(m, t.a.data(), t.b.data(), t.c.data(), N, 3, H, W, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_STATE);
}

TEST(Train, AdamStepsLowerTheLoss) {
  ModelPtr m(kTiny);
  MOTIF_OK_(motif_model_init(m, MOTIF_INIT_RANDOM, 1));
  Triplets t;
  auto o = options();
  MOTIF_OK_(motif_train_configure(m, &o));
  float before = eval_loss(m, t, o);
  ASSERT_GT(before, 0.01f);
  float dab[N], dac[N], dbc[N];
  float first = step(m, t, dab, dac, dbc);
  EXPECT_NEAR(first, before, 1e-4) << "frozen-BN train forward must equal the eval forward";
  for (int64_t i = 0; i < N; ++i) EXPECT_TRUE(dab[i] >= 0 && dac[i] >= 0 && dbc[i] >= 0);
  for (int s = 0; s < 7; ++s) step(m, t);
  float after = eval_loss(m, t, o);
  EXPECT_LT(after, 0.5f * before) << "before " << before << " after " << after;
}

TEST(Train, ContrastivePairsLowerTheLoss) {
  ModelPtr m(kTiny);
  MOTIF_OK_(motif_model_init(m, MOTIF_INIT_RANDOM, 2));
  Triplets t;
  auto o = options();
  o.loss = MOTIF_LOSS_CONTRASTIVE;
  o.anchor_swap = o.intra_penalty = 0;
  o.margin = 0.5;
  MOTIF_OK_(motif_train_configure(m, &o));
  std::vector<float> x(t.a.begin(), t.a.end()), y(t.b.begin(), t.b.end()), same = {1, 0, 1, 0};
  std::copy(t.c.begin() + IMG, t.c.begin() + 2 * IMG, y.begin() + IMG);  // pair 1: different
  std::copy(t.c.begin() + 3 * IMG, t.c.end(), y.begin() + 3 * IMG);      // pair 3: different
  float first = 0, last = 0;
  for (int s = 0; s < 8; ++s) {
    float loss;
    MOTIF_OK_(motif_train_step_pairs(m, x.data(), y.data(), same.data(), N, 3, H, W, &loss, nullptr));
    (s == 0 ? first : last) = loss;
  }
  EXPECT_LT(last, first);
  float loss;  // a triplet step with a contrastive configuration is refused
  EXPECT_EQ(motif_train_step(m, t.a.data(), t.b.data(), t.c.data(), N, 3, H, W, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_STATE);
}

TEST(Train, BatchNormModesAndStageFreezing) {
  Triplets t;
  auto run = [&](int bn_mode, int freeze) {
    auto m = std::make_unique<ModelPtr>(kTiny);
    EXPECT_EQ(motif_model_init(*m, MOTIF_INIT_RANDOM, 5), MOTIF_OK);
    auto o = options();
    o.bn_mode = bn_mode;
    o.freeze_stages = freeze;
    EXPECT_EQ(motif_train_configure(*m, &o), MOTIF_OK) << motif_last_error();
    return m;
  };
  const char* rm = "layer2.0.bn2.running_mean";
  const char* gamma = "layer2.0.bn2.weight";
  const char* conv_stem = "conv1.weight";
  const char* conv_l1 = "layer1.0.conv2.weight";
  const char* conv_l2 = "layer2.0.conv2.weight";

  {  // BN in training mode: running statistics move
    auto m = run(MOTIF_BN_TRAIN, 0);
    auto before = m->tensor(rm);
    step(*m, t);
    EXPECT_NE(m->tensor(rm), before);
  }
  {  // frozen statistics: running stats fixed (even though train() was called), gamma learns
    auto m = run(MOTIF_BN_FROZEN_STATS, 0);
    auto r0 = m->tensor(rm), g0 = m->tensor(gamma);
    step(*m, t);
    EXPECT_EQ(m->tensor(rm), r0);
    EXPECT_NE(m->tensor(gamma), g0);
  }
  {  // fully frozen BN: gamma fixed too, convs still learn
    auto m = run(MOTIF_BN_FROZEN, 0);
    auto g0 = m->tensor(gamma), c0 = m->tensor(conv_l2);
    step(*m, t);
    EXPECT_EQ(m->tensor(gamma), g0);
    EXPECT_NE(m->tensor(conv_l2), c0);
  }
  {  // freeze stem + layer1, even with BN in training mode; layer2 learns
    auto m = run(MOTIF_BN_TRAIN, 2);
    auto s0 = m->tensor(conv_stem), l10 = m->tensor(conv_l1), l20 = m->tensor(conv_l2);
    auto bn0 = m->tensor("layer1.0.bn1.running_var"), bn20 = m->tensor("layer2.0.bn1.running_var");
    step(*m, t);
    step(*m, t);
    EXPECT_EQ(m->tensor(conv_stem), s0);
    EXPECT_EQ(m->tensor(conv_l1), l10);
    EXPECT_EQ(m->tensor("layer1.0.bn1.running_var"), bn0) << "frozen stage's BN statistics drifted";
    EXPECT_NE(m->tensor(conv_l2), l20);
    EXPECT_NE(m->tensor("layer2.0.bn1.running_var"), bn20) << "unfrozen stage's BN should update";
  }
  {  // everything frozen: a clear error instead of a silent no-op
    auto m = run(MOTIF_BN_FROZEN, 5);
    float loss;
    EXPECT_EQ(motif_train_step(*m, t.a.data(), t.b.data(), t.c.data(), N, 3, H, W, &loss, nullptr, nullptr, nullptr),
              MOTIF_ERR_STATE);
  }
}

TEST(Train, ResumeFromCheckpointIsBitExact) {
  Triplets t;
  auto o = options();
  o.bn_mode = MOTIF_BN_TRAIN;  // running statistics must be restored too
  std::string path = temp_path("resume.motif");
  std::vector<float> losses_a, losses_b;
  std::vector<float> emb_a, emb_b;
  {
    ModelPtr a(kTiny);
    MOTIF_OK_(motif_model_init(a, MOTIF_INIT_RANDOM, 42));
    MOTIF_OK_(motif_train_configure(a, &o));
    step(a, t);
    step(a, t);
    MOTIF_OK_(motif_checkpoint_save(a, path.c_str(), nullptr));
    for (int s = 0; s < 3; ++s) losses_a.push_back(step(a, t));
    emb_a = a.embed(t.a, N, H, W);
  }
  {
    ModelPtr b(kTiny);  // different initial weights, no optimiser: everything comes from the file
    MOTIF_OK_(motif_model_init(b, MOTIF_INIT_RANDOM, 7));
    MOTIF_OK_(motif_checkpoint_load(b, path.c_str()));
    EXPECT_NE(b.info().find("\"step\":2"), std::string::npos) << b.info();
    for (int s = 0; s < 3; ++s) losses_b.push_back(step(b, t));
    emb_b = b.embed(t.a, N, H, W);
    EXPECT_NE(b.info().find("\"step\":5"), std::string::npos);
  }
  ASSERT_EQ(losses_a.size(), losses_b.size());
  for (size_t i = 0; i < losses_a.size(); ++i)
    EXPECT_EQ(std::memcmp(&losses_a[i], &losses_b[i], sizeof(float)), 0) << losses_a[i] << " vs " << losses_b[i];
  EXPECT_EQ(emb_a, emb_b);
  std::remove(path.c_str());
}

}  // namespace
