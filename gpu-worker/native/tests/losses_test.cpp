// Loss values against hand computations (motif_loss_triplets / motif_loss_pairs run exactly
// the code of the train step, on given embeddings).
#include <algorithm>
#include <cmath>

#include "test_support.h"

namespace {

motif_train_options opts(int loss, int distance, int reduction, int swap, int intra, double m, double m2) {
  motif_train_options o{};
  EXPECT_EQ(motif_train_options_default(&o), MOTIF_OK);
  o.loss = loss; o.distance = distance; o.reduction = reduction;
  o.anchor_swap = swap; o.intra_penalty = intra; o.margin = m; o.margin2 = m2;
  return o;
}

// Two triplets in 2-D, chosen so that the cosines are exact: (1,0)·(.6,.8) = .6 etc.
//   triplet 0: A=(1,0)  B=(.6,.8)  C=(0,1)   d_ab=.4  d_ac=1   d_bc=.2
//   triplet 1: A=(1,0)  B=(0,1)    C=(.6,.8) d_ab=1   d_ac=.4  d_bc=.2
const std::vector<float> A = {1, 0, 1, 0}, B = {.6f, .8f, 0, 1}, C = {0, 1, .6f, .8f};

TEST(Loss, CompoundHingeByHand) {
  // m = 0.01, m2 = 0.1; per triplet max(0, m + d_ab - dneg + [intra] max(0, d_ab - m2))
  struct Row { int swap, intra; double t0, t1; } rows[] = {
      {1, 1, .01 + .4 - .2 + .3, .01 + 1 - .2 + .9},  // 0.51, 1.71
      {1, 0, .01 + .4 - .2, .01 + 1 - .2},            // 0.21, 0.81
      {0, 1, 0 /* .01+.4-1+.3 < 0 */, .01 + 1 - .4 + .9},  // 0, 1.51
      {0, 0, 0, .01 + 1 - .4},                        // 0, 0.61
  };
  for (auto& r : rows)
    for (int red : {MOTIF_REDUCTION_SUM, MOTIF_REDUCTION_MEAN}) {
      auto o = opts(MOTIF_LOSS_COMPOUND_HINGE, MOTIF_DISTANCE_COSINE, red, r.swap, r.intra, .01, .1);
      float loss = -1, dab[2], dac[2], dbc[2];
      MOTIF_OK_(motif_loss_triplets(A.data(), B.data(), C.data(), 2, 2, &o, &loss, dab, dac, dbc));
      double want = (r.t0 + r.t1) / (red == MOTIF_REDUCTION_MEAN ? 2 : 1);
      EXPECT_NEAR(loss, want, 1e-6) << "swap " << r.swap << " intra " << r.intra << " red " << red;
      EXPECT_NEAR(dab[0], .4, 1e-6); EXPECT_NEAR(dac[0], 1, 1e-6); EXPECT_NEAR(dbc[0], .2, 1e-6);
      EXPECT_NEAR(dab[1], 1, 1e-6); EXPECT_NEAR(dac[1], .4, 1e-6); EXPECT_NEAR(dbc[1], .2, 1e-6);
    }
}

TEST(Loss, TripletMarginEuclideanByHand) {
  // torch.nn.TripletMarginLoss(margin=1, p=2, eps=1e-6): d = ||x - y + eps||; triplet 0 only.
  auto d = [](double x0, double x1) { return std::sqrt((x0 + 1e-6) * (x0 + 1e-6) + (x1 + 1e-6) * (x1 + 1e-6)); };
  double dab = d(.4, -.8), dac = d(1, -1), dbc = d(.6, -.2);  // sqrt(.8), sqrt(2), sqrt(.4)
  for (int swap : {0, 1}) {
    auto o = opts(MOTIF_LOSS_TRIPLET_MARGIN, MOTIF_DISTANCE_EUCLIDEAN, MOTIF_REDUCTION_SUM, swap, 0, 1.0, 0);
    float loss, out_ab, out_ac, out_bc;
    MOTIF_OK_(motif_loss_triplets(A.data(), B.data(), C.data(), 1, 2, &o, &loss, &out_ab, &out_ac, &out_bc));
    EXPECT_NEAR(loss, 1 + dab - (swap ? std::min(dac, dbc) : dac), 1e-6);  // .480214 / 1.261971
    EXPECT_NEAR(out_ab, std::sqrt(.8), 1e-5);
    EXPECT_NEAR(out_bc, std::sqrt(.4), 1e-5);
  }
}

TEST(Loss, ContrastiveByHand) {
  // pairs (A0,B0) same: d=.4 -> .16; (A0,C0) different: d=1 >= m=.5 -> 0; (B0,C0) different: d=.2 -> .3^2
  std::vector<float> x = {1, 0, 1, 0, .6f, .8f}, y = {.6f, .8f, 0, 1, 0, 1}, same = {1, 0, 0};
  for (int red : {MOTIF_REDUCTION_SUM, MOTIF_REDUCTION_MEAN}) {
    auto o = opts(MOTIF_LOSS_CONTRASTIVE, MOTIF_DISTANCE_COSINE, red, 0, 0, .5, 0);
    float loss, d[3];
    MOTIF_OK_(motif_loss_pairs(x.data(), y.data(), same.data(), 3, 2, &o, &loss, d));
    EXPECT_NEAR(loss, (.16 + 0 + .09) / (red == MOTIF_REDUCTION_MEAN ? 3 : 1), 1e-6);
    EXPECT_NEAR(d[0], .4, 1e-6); EXPECT_NEAR(d[1], 1, 1e-6); EXPECT_NEAR(d[2], .2, 1e-6);
  }
}

// Every loss x flag x distance x reduction on random (unnormalised) vectors, against a
// straightforward double-precision reimplementation.
double dist(const float* a, const float* b, int dim, int kind) {
  double ab = 0, aa = 0, bb = 0, e2 = 0;
  for (int k = 0; k < dim; ++k) {
    ab += double(a[k]) * b[k]; aa += double(a[k]) * a[k]; bb += double(b[k]) * b[k];
    double e = double(a[k]) - b[k] + 1e-6;
    e2 += e * e;
  }
  return kind == MOTIF_DISTANCE_COSINE ? 1 - ab / (std::sqrt(aa) * std::sqrt(bb)) : std::sqrt(e2);
}

TEST(Loss, AllCombinationsMatchReference) {
  const int n = 7, dim = 5;
  auto a = noise(n * dim, 1), b = noise(n * dim, 2), c = noise(n * dim, 3);
  std::vector<float> same = {1, 0, 1, 1, 0, 0, 1};
  int checked = 0;
  for (int loss : {MOTIF_LOSS_COMPOUND_HINGE, MOTIF_LOSS_TRIPLET_MARGIN, MOTIF_LOSS_CONTRASTIVE})
    for (int distance : {MOTIF_DISTANCE_COSINE, MOTIF_DISTANCE_EUCLIDEAN})
      for (int red : {MOTIF_REDUCTION_SUM, MOTIF_REDUCTION_MEAN})
        for (int swap : {0, 1})
          for (int intra : {0, 1}) {
            if (intra && loss != MOTIF_LOSS_COMPOUND_HINGE) continue;
            if (swap && loss == MOTIF_LOSS_CONTRASTIVE) continue;
            double m = distance == MOTIF_DISTANCE_COSINE ? 0.3 : 1.5, m2 = 0.5;
            auto o = opts(loss, distance, red, swap, intra, m, m2);
            double want = 0;
            for (int i = 0; i < n; ++i) {
              const float *ai = &a[i * dim], *bi = &b[i * dim], *ci = &c[i * dim];
              double dab = dist(ai, bi, dim, distance);
              if (loss == MOTIF_LOSS_CONTRASTIVE) {
                want += same[i] * dab * dab + (1 - same[i]) * std::pow(std::max(0.0, m - dab), 2);
                continue;
              }
              double dneg = dist(ai, ci, dim, distance);
              if (swap) dneg = std::min(dneg, dist(bi, ci, dim, distance));
              double per = m + dab - dneg + (intra ? std::max(0.0, dab - m2) : 0.0);
              want += std::max(0.0, per);
            }
            if (red == MOTIF_REDUCTION_MEAN) want /= n;
            float got = -1;
            if (loss == MOTIF_LOSS_CONTRASTIVE)
              MOTIF_OK_(motif_loss_pairs(a.data(), b.data(), same.data(), n, dim, &o, &got, nullptr));
            else
              MOTIF_OK_(motif_loss_triplets(a.data(), b.data(), c.data(), n, dim, &o, &got, nullptr, nullptr, nullptr));
            EXPECT_NEAR(got, want, 1e-5 * std::max(1.0, std::fabs(want)))
                << "loss " << loss << " dist " << distance << " red " << red << " swap " << swap << " intra " << intra;
            EXPECT_GT(want, 0) << "combination must exercise a non-zero loss";
            ++checked;
          }
  EXPECT_EQ(checked, 2 * 2 * 4 + 2 * 2 * 2 + 2 * 2);  // compound 16, triplet 8, contrastive 4
}

TEST(Loss, InvalidOptionsAreRejected) {
  float loss;
  auto o = opts(MOTIF_LOSS_TRIPLET_MARGIN, MOTIF_DISTANCE_COSINE, MOTIF_REDUCTION_SUM, 0, 1, .1, .1);
  EXPECT_EQ(motif_loss_triplets(A.data(), B.data(), C.data(), 2, 2, &o, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(motif_last_error()).find("intra_penalty"), std::string::npos);
  o = opts(MOTIF_LOSS_CONTRASTIVE, MOTIF_DISTANCE_COSINE, MOTIF_REDUCTION_SUM, 0, 0, .1, .1);
  EXPECT_EQ(motif_loss_triplets(A.data(), B.data(), C.data(), 2, 2, &o, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_INVALID_ARGUMENT);
  o = opts(MOTIF_LOSS_COMPOUND_HINGE, 7, MOTIF_REDUCTION_SUM, 0, 0, .1, .1);
  EXPECT_EQ(motif_loss_triplets(A.data(), B.data(), C.data(), 2, 2, &o, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_INVALID_ARGUMENT);
  o = opts(MOTIF_LOSS_COMPOUND_HINGE, MOTIF_DISTANCE_COSINE, MOTIF_REDUCTION_SUM, 0, 0, .1, .1);
  o.reserved = 1;
  EXPECT_EQ(motif_loss_triplets(A.data(), B.data(), C.data(), 2, 2, &o, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_loss_triplets(nullptr, B.data(), C.data(), 2, 2, &o, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_loss_triplets(A.data(), B.data(), C.data(), 0, 2, &o, &loss, nullptr, nullptr, nullptr),
            MOTIF_ERR_INVALID_ARGUMENT);
}

TEST(Loss, DefaultsAreTheSeedsRecipe) {
  motif_train_options o;
  MOTIF_OK_(motif_train_options_default(&o));
  EXPECT_EQ(o.loss, MOTIF_LOSS_COMPOUND_HINGE);
  EXPECT_EQ(o.distance, MOTIF_DISTANCE_COSINE);
  EXPECT_EQ(o.reduction, MOTIF_REDUCTION_SUM);
  EXPECT_EQ(o.anchor_swap, 1);
  EXPECT_EQ(o.intra_penalty, 1);
  EXPECT_DOUBLE_EQ(o.margin, 0.01);
  EXPECT_DOUBLE_EQ(o.margin2, 0.1);
  EXPECT_DOUBLE_EQ(o.learning_rate, 1e-6);
  EXPECT_DOUBLE_EQ(o.weight_decay, 1e-4);
  static_assert(sizeof(motif_train_options) == 64, "P/Invoke layout: 4 doubles + 8 int32");
}

}  // namespace
