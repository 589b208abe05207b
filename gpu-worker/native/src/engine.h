// The model object behind motif_model*: embedding, losses, training and checkpoints.
// Every method runs on the engine thread (see EngineThread in util.h).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "model.h"

namespace motif {

struct LossResult {
  torch::Tensor loss;              // scalar
  torch::Tensor d_ab, d_ac, d_bc;  // [n] each (d_ac, d_bc undefined for pairs)
};

// Throws MOTIF_ERR_INVALID_ARGUMENT describing the first bad field.
void validate_options(const motif_train_options& o, bool pairs);
torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b, int kind);
LossResult triplet_loss(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c,
                        const motif_train_options& o);
LossResult pair_loss(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& same,
                     const motif_train_options& o);
motif_train_options default_options();

class Model {
 public:
  Model(const std::string& arch, const std::string& device);
  const ArchConfig& cfg() const { return net_->cfg; }
  void init(int scheme, uint64_t seed);
  void load_weights(const std::string& path);
  std::string info_json();
  torch::Tensor tensor(const std::string& name);
  void embed(const float* x, int64_t n, int64_t c, int64_t h, int64_t w, float* emb, float* logits);
  void set_precision(int precision, bool channels_last);
  void set_pooling(double power);
  void set_detail_view(double fraction);
  void configure(const motif_train_options& o);
  LossResult train_triplets(const float* a, const float* b, const float* c, int64_t n, int64_t ch,
                            int64_t h, int64_t w);
  LossResult train_pairs(const float* a, const float* b, const float* labels, int64_t n, int64_t ch,
                         int64_t h, int64_t w);
  void save(const std::string& path, const std::string& user_json);
  void load(const std::string& path);
  static std::string read_metadata(const std::string& path);

 private:
  torch::Tensor input(const float* x, int64_t n, int64_t c, int64_t h, int64_t w);
  void apply_train_modes();
  LossResult step_on(const torch::Tensor& x, int parts, const float* labels, int64_t n);
  Json metadata_json();
  torch::Tensor signature(const torch::Tensor& x, torch::Tensor* pooled = nullptr);

  ResNet net_{nullptr};
  torch::Device device_;
  std::unique_ptr<torch::optim::Adam> opt_;
  motif_train_options topts_{};
  bool configured_ = false;
  int64_t step_ = 0;
  bool bf16_ = false;           // autocast forwards to bfloat16
  bool channels_last_ = false;  // NHWC weights and inputs
  double pooling_power_ = 1.0;  // GeM exponent of the global pooling (1: mean); saved in checkpoints
  double detail_view_ = 0.0;    // side of the centre detail seen beside the whole input (0: none); saved in checkpoints
};

}  // namespace motif
