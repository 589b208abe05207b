// ResNet / ResNeXt backbones with torchvision's parameter names, plus the Keras ResNet-50 v1
// variant of the packaged pretrained weights, and their weight loaders.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "util.h"

namespace motif {

// Architecture description. family "torchvision" follows torchvision/models/resnet.py
// (ResNet "v1.5": stride on the 3x3 conv, no conv bias, BN eps 1e-5); family "keras" follows
// keras_applications/resnet50.py as exported by Keras 2.2.4 (stride on the FIRST 1x1 conv of
// each stage's first block, conv biases, BN eps from the weights file: 1e-3 in the packaged
// model.json, 1.001e-5 in the later keras.applications.resnet).
struct ArchConfig {
  std::string family = "torchvision";
  std::vector<int64_t> layers{3, 4, 6, 3};
  int64_t base = 64;             // planes of layer1 (torchvision: inplanes = 64)
  int64_t groups = 1;            // ResNeXt cardinality
  int64_t width_per_group = 64;  // ResNeXt bottleneck width per group
  int64_t num_classes = 1000;    // 0 = no classifier head
  double bn_eps = 1e-5;

  bool keras() const { return family == "keras"; }
  int64_t embedding_dim() const { return base * 8 * 4; }  // layer4 planes x expansion 4
  std::string canonical() const;  // preset name when it is one, else the full spec
  static ArchConfig parse(const std::string& spec);  // throws MOTIF_ERR_INVALID_ARGUMENT
};

// torchvision.models.resnet.Bottleneck (expansion 4); `stride_on_1x1` gives the Keras /
// original-paper (He et al. 2015) placement of the stride.
struct BottleneckImpl : torch::nn::Module {
  BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, const ArchConfig& cfg);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};  // "downsample.0" conv, "downsample.1" BN
};
TORCH_MODULE(Bottleneck);

struct ResNetImpl : torch::nn::Module {
  explicit ResNetImpl(const ArchConfig& cfg);
  torch::Tensor features(const torch::Tensor& x);  // output of layer4 (last conv block)
  // Global pooling of layer4: the generalized mean (GeM) with exponent p, (mean over positions of f^p)^(1/p),
  // Radenović, Tolias & Chum, "Fine-tuning CNN Image Retrieval with No Human Annotation", TPAMI 2019, §3.1.
  // p = 1 is the mean pooling of the research (SEEDS.md), computed as before to the bit; p → ∞ tends to max
  // pooling. After the ReLU every activation is ≥ 0; the clamp keeps pow's gradient finite at 0.
  torch::Tensor pooled(const torch::Tensor& x, double p) {
    auto f = features(x);
    if (p == 1.0) return f.mean({2, 3});
    return f.to(torch::kFloat).clamp_min(1e-6).pow(p).mean({2, 3}).pow(1.0 / p);
  }
  ArchConfig cfg;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(ResNet);

// Stage of a parameter / module name: 0 stem (conv1, bn1), 1..4 layer1..4, 5 head (fc).
int stage_of(const std::string& name);

// Every parameter and buffer by torchvision state_dict key.
std::vector<std::pair<std::string, torch::Tensor>> state_entries(ResNetImpl& net);

void init_random(ResNetImpl& net, uint64_t seed);
void init_test_pattern(ResNetImpl& net);
// The closed-form value generator shared with tests/golden/engine/make_golden.py.
void fill_test_pattern(torch::Tensor& t, const std::string& name);

void load_tfjs(ResNetImpl& net, const std::string& model_json_path);
void load_state_dict_file(ResNetImpl& net, const std::string& path);

// SHA-256 over names, dtypes, shapes and bytes of every parameter and buffer.
std::string content_hash(ResNetImpl& net);

std::vector<char> read_file(const std::string& path);  // MOTIF_ERR_IO if unreadable

}  // namespace motif
