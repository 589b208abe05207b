#include "engine.h"

#include <ATen/autocast_mode.h>

#include <torch/serialize.h>
#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>

namespace motif {

namespace F = torch::nn::functional;

// ================================ losses =================================================
motif_train_options default_options() {
  // SEEDS.md (EPFL replica recipe): compound hinge, cosine distance, summed over the batch,
  // m = 0.01, m2 = 0.1, Adam lr 1e-6, weight decay 1e-4. BN statistics frozen by default:
  // with batch 4 (12 images) batch statistics are too noisy, and the replica's attempt to
  // freeze them silently failed (model.train() re-enabled them) — here it is enforced.
  motif_train_options o{};
  o.margin = 0.01;
  o.margin2 = 0.1;
  o.learning_rate = 1e-6;
  o.weight_decay = 1e-4;
  o.loss = MOTIF_LOSS_COMPOUND_HINGE;
  o.distance = MOTIF_DISTANCE_COSINE;
  o.reduction = MOTIF_REDUCTION_SUM;
  o.anchor_swap = 1;
  o.intra_penalty = 1;
  o.bn_mode = MOTIF_BN_FROZEN_STATS;
  o.freeze_stages = 0;
  return o;
}

void validate_options(const motif_train_options& o, bool pairs) {
  auto bad = [](const std::string& m) { fail(MOTIF_ERR_INVALID_ARGUMENT, "train options: " + m); };
  if (o.loss < 0 || o.loss > 2) bad("unknown loss " + std::to_string(o.loss));
  if (pairs && o.loss != MOTIF_LOSS_CONTRASTIVE) bad("pairs need the contrastive loss");
  if (!pairs && o.loss == MOTIF_LOSS_CONTRASTIVE) bad("the contrastive loss takes pairs (use the *_pairs function)");
  if (o.distance != MOTIF_DISTANCE_COSINE && o.distance != MOTIF_DISTANCE_EUCLIDEAN) bad("unknown distance");
  if (o.reduction != MOTIF_REDUCTION_SUM && o.reduction != MOTIF_REDUCTION_MEAN) bad("unknown reduction");
  if ((o.anchor_swap != 0 && o.anchor_swap != 1) || (o.intra_penalty != 0 && o.intra_penalty != 1))
    bad("anchor_swap / intra_penalty must be 0 or 1");
  if (o.intra_penalty && o.loss != MOTIF_LOSS_COMPOUND_HINGE) bad("intra_penalty belongs to the compound hinge loss");
  if (o.anchor_swap && o.loss == MOTIF_LOSS_CONTRASTIVE) bad("anchor_swap needs triplets");
  if (!std::isfinite(o.margin) || !std::isfinite(o.margin2)) bad("margins must be finite");
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) bad("learning_rate must be > 0");
  if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) bad("weight_decay must be >= 0");
  if (o.bn_mode < 0 || o.bn_mode > 2) bad("unknown bn_mode");
  if (o.freeze_stages < 0 || o.freeze_stages > 5) bad("freeze_stages must be in 0..5");
  if (o.reserved != 0) bad("reserved must be 0");
}

torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b, int kind) {
  if (kind == MOTIF_DISTANCE_EUCLIDEAN) return torch::pairwise_distance(a, b, 2.0, 1e-6);
  // d = 1 - cos(a, b); inputs are normalised here so callers may pass raw vectors
  // (for model embeddings, already unit length, this is the identity).
  auto o = F::NormalizeFuncOptions().p(2).dim(1);
  return 1 - (F::normalize(a, o) * F::normalize(b, o)).sum(1);
}

static torch::Tensor reduce(const torch::Tensor& per, int reduction) {
  return reduction == MOTIF_REDUCTION_MEAN ? per.mean() : per.sum();
}

LossResult triplet_loss(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c,
                        const motif_train_options& o) {
  LossResult r;
  r.d_ab = distance(a, b, o.distance);
  r.d_ac = distance(a, c, o.distance);
  r.d_bc = distance(b, c, o.distance);
  // Anchor swap (Balntas et al., BMVC 2016, "Learning local feature descriptors with triplets
  // and shallow CNNs"): the hardest of the two negatives distances, min(d(A,C), d(B,C)).
  auto dneg = o.anchor_swap ? torch::minimum(r.d_ac, r.d_bc) : r.d_ac;
  auto per = o.margin + r.d_ab - dneg;
  // Intra-sample penalty (EPFL DHLAB replica, compound hinge): also pull positives closer than
  // m2 in absolute terms, not only relative to the negative.
  if (o.loss == MOTIF_LOSS_COMPOUND_HINGE && o.intra_penalty) per = per + torch::relu(r.d_ab - o.margin2);
  r.loss = reduce(torch::relu(per), o.reduction);
  return r;
}

LossResult pair_loss(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& same,
                     const motif_train_options& o) {
  // Contrastive loss (Hadsell, Chopra, LeCun, CVPR 2006): y d^2 + (1 - y) max(0, m - d)^2.
  LossResult r;
  r.d_ab = distance(a, b, o.distance);
  auto per = same * r.d_ab.pow(2) + (1 - same) * torch::relu(o.margin - r.d_ab).pow(2);
  r.loss = reduce(per, o.reduction);
  return r;
}

// ================================ model ==================================================
static torch::Device parse_device(const std::string& d) {
  if (d.empty() || d == "cpu") return torch::kCPU;
  if (d.rfind("cuda", 0) != 0) fail(MOTIF_ERR_INVALID_ARGUMENT, "unknown device '" + d + "' (cpu, cuda, cuda:N)");
  if (!torch::cuda::is_available()) fail(MOTIF_ERR_INVALID_ARGUMENT, "device '" + d + "': no CUDA device / CPU-only libtorch");
  return torch::Device(d);
}

Model::Model(const std::string& arch, const std::string& device) : device_(parse_device(device)) {
  net_ = ResNet(ArchConfig::parse(arch));
  init_random(*net_, 0);
  net_->to(device_);
  net_->eval();
  // On a GPU, bf16 and NHWC are what tensor cores run at full speed; on CPU both default off
  // (fp32 is exact to the golden files, and oneDNN's NHWC gain is small there).
  if (device_.is_cuda()) set_precision(MOTIF_PRECISION_BF16, true);
}

void Model::set_precision(int precision, bool channels_last) {
  if (precision != MOTIF_PRECISION_FP32 && precision != MOTIF_PRECISION_BF16)
    fail(MOTIF_ERR_INVALID_ARGUMENT, "unknown precision " + std::to_string(precision));
  bf16_ = precision == MOTIF_PRECISION_BF16;
  channels_last_ = channels_last;
  // Convolution weights change layout in place (set_data keeps the Parameter object, so an
  // existing Adam optimiser still points at them); later loads copy_ into them and keep it.
  auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  torch::NoGradGuard no_grad;
  for (auto& p : net_->parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(format));
}

namespace {
// torch.autocast(device_type, dtype=torch.bfloat16) for the C++ API: convolutions and matmuls run in
// bf16, ops on autocast's fp32 list (and our explicit casts) stay fp32. The autocast switches are
// thread-local, and all model work runs on the one engine thread, so a scope per call is exact.
// Backward runs outside the scope, as PyTorch's AMP recipe prescribes; bf16 needs no loss scaling.
class AutocastScope {
 public:
  AutocastScope(bool enabled, const torch::Device& device) : enabled_(enabled), type_(device.type()) {
    if (!enabled_) return;
    previous_ = dtype();
    set(true, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();  // cached bf16 weight copies
    set(false, previous_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  // PyTorch 2.4 replaced the per-device switches (set_enabled, set_cpu_enabled, ..._gpu_dtype) with ones
  // that take the device type; Debian 12 ships 1.13, the CUDA images ship 2.x.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::ScalarType dtype() const { return at::autocast::get_autocast_dtype(type_); }
  void set(bool on, at::ScalarType dtype) const {
    at::autocast::set_autocast_dtype(type_, dtype);
    at::autocast::set_autocast_enabled(type_, on);
  }
#else
  at::ScalarType dtype() const {
    return type_ == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
  }
  void set(bool on, at::ScalarType dtype) const {
    if (type_ == c10::DeviceType::CUDA) {
      at::autocast::set_autocast_gpu_dtype(dtype);
      at::autocast::set_enabled(on);
    } else {
      at::autocast::set_autocast_cpu_dtype(dtype);
      at::autocast::set_cpu_enabled(on);
    }
  }
#endif

  bool enabled_;
  c10::DeviceType type_;
  at::ScalarType previous_ = at::kFloat;
};
}  // namespace

void Model::init(int scheme, uint64_t seed) {
  if (scheme == MOTIF_INIT_RANDOM) init_random(*net_, seed);
  else if (scheme == MOTIF_INIT_TEST_PATTERN) init_test_pattern(*net_);
  else fail(MOTIF_ERR_INVALID_ARGUMENT, "unknown init scheme " + std::to_string(scheme));
  step_ = 0;
}

void Model::load_weights(const std::string& path) {
  bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  auto cpu = ResNet(net_->cfg);  // load on CPU, validate, then copy: a failed load changes nothing
  if (json) load_tfjs(*cpu, path);
  else load_state_dict_file(*cpu, path);
  torch::NoGradGuard ng;
  net_->cfg = cpu->cfg;  // the TF.js loader may adopt the file's BN epsilon
  auto dst = state_entries(*net_);
  auto src = state_entries(*cpu);
  for (size_t i = 0; i < dst.size(); ++i) dst[i].second.copy_(src[i].second);
  for (auto& m : net_->modules(false))
    if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) bn->options.eps(net_->cfg.bn_eps);
  step_ = 0;
}

Json Model::metadata_json() {
  const auto& c = net_->cfg;
  // What the caller must do to pixels before motif_embed (the engine takes network input):
  // x[c] = (pixel[c] scaled to [0, pixel_scale] - mean[c]) / std[c], channels in color_order, NCHW.
  bool keras = c.keras();
  // keras_applications imagenet_utils.preprocess_input(mode="caffe") vs torchvision's transforms.
  Json pre = {{"color_order", keras ? "BGR" : "RGB"},
              {"pixel_scale", keras ? 255.0 : 1.0},
              {"mean", keras ? std::vector<double>{103.939, 116.779, 123.68} : std::vector<double>{0.485, 0.456, 0.406}},
              {"std", keras ? std::vector<double>{1, 1, 1} : std::vector<double>{0.229, 0.224, 0.225}},
              {"layout", "NCHW"}};
  return {{"architecture", c.canonical()},
          {"family", c.family},
          {"embedding_dim", c.embedding_dim()},
          {"num_classes", c.num_classes},
          {"device", device_.str()},
          {"step", step_},
          {"preprocessing", pre},
          {"precision", bf16_ ? "bf16" : "fp32"},
          {"channels_last", channels_last_},
          {"pooling_power", pooling_power_},
          {"detail_view", detail_view_}};
}

std::string Model::info_json() { return metadata_json().dump(); }

torch::Tensor Model::tensor(const std::string& name) {
  for (auto& e : state_entries(*net_))
    if (e.first == name) return e.second.detach().to(torch::kCPU, torch::kFloat).contiguous();
  fail(MOTIF_ERR_INVALID_ARGUMENT, "no parameter or buffer named '" + name + "'");
}

torch::Tensor Model::input(const float* x, int64_t n, int64_t c, int64_t h, int64_t w) {
  if (!x) fail(MOTIF_ERR_INVALID_ARGUMENT, "input buffer is NULL");
  if (n < 1 || c != 3 || h < 1 || w < 1 || h > 16384 || w > 16384 || n > (int64_t(1) << 20))
    fail(MOTIF_ERR_INVALID_ARGUMENT, "input must be N x 3 x H x W with N, H, W >= 1 (got " + std::to_string(n) + "x" +
                                         std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w) + ")");
  // Zero-copy view of the caller's buffer (it is only read; the const_cast is for from_blob).
  auto t = torch::from_blob(const_cast<float*>(x), {n, c, h, w}, torch::kFloat);
  if (!device_.is_cpu()) t = t.to(device_);
  return channels_last_ ? t.contiguous(at::MemoryFormat::ChannelsLast) : t;
}

void Model::embed(const float* x, int64_t n, int64_t c, int64_t h, int64_t w, float* emb, float* logits) {
  auto in = input(x, n, c, h, w);
  if (!emb) fail(MOTIF_ERR_INVALID_ARGUMENT, "embedding buffer is NULL");
  if (logits && !net_->fc) fail(MOTIF_ERR_INVALID_ARGUMENT, "logits requested but the model has no classifier head");
  c10::InferenceMode guard;
  AutocastScope amp(bf16_, device_);
  net_->eval();
  torch::Tensor pooled;
  auto e = signature(in, &pooled);
  torch::from_blob(emb, e.sizes(), torch::kFloat).copy_(e);
  if (logits) {
    auto l = net_->fc(pooled);  // the head sees the un-normalised pooled features, as in training
    torch::from_blob(logits, l.sizes(), torch::kFloat).copy_(l);  // copy_ converts from bf16
  }
}

void Model::configure(const motif_train_options& o) {
  validate_options(o, o.loss == MOTIF_LOSS_CONTRASTIVE);
  std::set<std::string> bn_params;
  for (auto& m : net_->named_modules("", false))
    if (m.value()->as<torch::nn::BatchNorm2dImpl>()) {
      bn_params.insert(m.key() + ".weight");
      bn_params.insert(m.key() + ".bias");
    }
  for (auto& p : net_->named_parameters()) {
    bool frozen = stage_of(p.key()) < o.freeze_stages ||
                  (o.bn_mode == MOTIF_BN_FROZEN && bn_params.count(p.key()));
    p.value().set_requires_grad(!frozen);
  }
  if (!opt_) {
    opt_ = std::make_unique<torch::optim::Adam>(
        net_->parameters(), torch::optim::AdamOptions(o.learning_rate).weight_decay(o.weight_decay));
  } else {
    for (auto& g : opt_->param_groups()) {
      auto& ao = static_cast<torch::optim::AdamOptions&>(g.options());
      ao.lr(o.learning_rate).weight_decay(o.weight_decay);
    }
  }
  topts_ = o;
  configured_ = true;
}

void Model::apply_train_modes() {
  // "Done right" BN freezing: module.train() switches every BN back to batch statistics (the
  // replica's silent failure), so eval() is re-applied after it, on every step. Frozen stages
  // also keep their BN in eval mode: a frozen layer must not drift through running stats.
  net_->train(true);
  for (auto& m : net_->named_modules("", false))
    if (m.value()->as<torch::nn::BatchNorm2dImpl>() &&
        (topts_.bn_mode != MOTIF_BN_TRAIN || stage_of(m.key()) < topts_.freeze_stages))
      m.value()->eval();
}

LossResult Model::step_on(const torch::Tensor& x, int parts, const float* labels, int64_t n) {
  if (!configured_) fail(MOTIF_ERR_STATE, "motif_train_configure must be called before a train step");
  apply_train_modes();
  // One forward pass over all 2n/3n images: a single (larger) batch for BN statistics and
  // for the convolution kernels.
  LossResult r;
  {
    AutocastScope amp(bf16_, device_);
    auto emb = signature(x);
    auto e = emb.chunk(parts, 0);
    if (parts == 3) {
      r = triplet_loss(e[0], e[1], e[2], topts_);
    } else {
      auto y = torch::from_blob(const_cast<float*>(labels), {n}, torch::kFloat).to(device_);
      r = pair_loss(e[0], e[1], y, topts_);
    }
  }
  if (!r.loss.requires_grad()) fail(MOTIF_ERR_STATE, "every parameter used by the embedding is frozen");
  for (auto& p : net_->parameters()) p.mutable_grad() = torch::Tensor();  // set_to_none: frozen
  r.loss.backward();  // params keep no grad, so Adam skips them (no weight-decay drift)
  opt_->step();
  ++step_;
  net_->eval();
  r.loss = r.loss.detach();
  r.d_ab = r.d_ab.detach();
  if (r.d_ac.defined()) { r.d_ac = r.d_ac.detach(); r.d_bc = r.d_bc.detach(); }
  return r;
}

LossResult Model::train_triplets(const float* a, const float* b, const float* c, int64_t n, int64_t ch,
                                 int64_t h, int64_t w) {
  if (configured_ && topts_.loss == MOTIF_LOSS_CONTRASTIVE)
    fail(MOTIF_ERR_STATE, "configured loss is contrastive: use motif_train_step_pairs");
  return step_on(torch::cat({input(a, n, ch, h, w), input(b, n, ch, h, w), input(c, n, ch, h, w)}), 3, nullptr, n);
}

LossResult Model::train_pairs(const float* a, const float* b, const float* labels, int64_t n, int64_t ch,
                              int64_t h, int64_t w) {
  if (!labels) fail(MOTIF_ERR_INVALID_ARGUMENT, "labels buffer is NULL");
  if (configured_ && topts_.loss != MOTIF_LOSS_CONTRASTIVE)
    fail(MOTIF_ERR_STATE, "pairs need the contrastive loss: configure it first");
  return step_on(torch::cat({input(a, n, ch, h, w), input(b, n, ch, h, w)}), 2, labels, n);
}

namespace {
// The ranges of the two signing settings, checked where they are set and where a checkpoint brings them.
// Beyond 16 the mean of f^p over- or underflows fp32 for ordinary activations, and GeM is already max pooling.
bool pooling_in_range(double power) { return std::isfinite(power) && power >= 1.0 && power <= 16.0; }
// Below a tenth the window is a few pixels of the input; 1 would see the whole input twice.
bool detail_view_in_range(double fraction) {
  return std::isfinite(fraction) && (fraction == 0.0 || (fraction >= 0.1 && fraction < 1.0));
}
}  // namespace

torch::Tensor Model::signature(const torch::Tensor& x, torch::Tensor* pooled) {
  auto unit = [](const torch::Tensor& p) { return F::normalize(p, F::NormalizeFuncOptions().p(2).dim(1)); };  // per image
  auto whole = net_->pooled(x, pooling_power_).to(torch::kFloat);  // signatures are fp32 whatever the precision
  if (pooled) *pooled = whole;
  if (detail_view_ == 0.0) return unit(whole);
  // The centre detail: a centred window of detail_view_ of each side (torchvision's CenterCrop offsets,
  // int(round((side - crop) / 2))), resized back to the input's size (bilinear, align_corners false, as
  // torchvision's Resize of a tensor) so that the network sees it at the scale of a reproduction of a detail.
  // The signature is the normalised sum of the two views' unit signatures.
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t ch = std::max<int64_t>(1, std::llround(h * detail_view_)), cw = std::max<int64_t>(1, std::llround(w * detail_view_));
  const int64_t top = std::llround(std::nearbyint((h - ch) / 2.0)), left = std::llround(std::nearbyint((w - cw) / 2.0));
  auto window = x.slice(2, top, top + ch).slice(3, left, left + cw);
  auto detail = F::interpolate(window, F::InterpolateFuncOptions()
                                           .size(std::vector<int64_t>{h, w})
                                           .mode(torch::kBilinear)
                                           .align_corners(false));
  if (x.is_contiguous(at::MemoryFormat::ChannelsLast)) detail = detail.contiguous(at::MemoryFormat::ChannelsLast);
  return unit(unit(whole) + unit(net_->pooled(detail, pooling_power_).to(torch::kFloat)));
}

void Model::set_detail_view(double fraction) {
  if (!detail_view_in_range(fraction))
    fail(MOTIF_ERR_INVALID_ARGUMENT, "detail view must be 0 (none) or between 0.1 and 1 (exclusive), got " + std::to_string(fraction));
  detail_view_ = fraction;
}

void Model::set_pooling(double power) {
  if (!pooling_in_range(power))
    fail(MOTIF_ERR_INVALID_ARGUMENT, "pooling power must be between 1 (mean) and 16, got " + std::to_string(power));
  pooling_power_ = power;
}

// ================================ checkpoints ============================================
// A torch::serialize archive (zip): "metadata" (JSON string), "model" (nn::Module::save
// layout) and, once training was configured, "optimizer" (torch::optim::Adam::save: per
// parameter step / exp_avg / exp_avg_sq in parameter order). Resuming restores all of it, so
// the next steps are bit-identical on CPU (training itself draws no random numbers).
static const char* kFormat = "motif-checkpoint";

static Json options_json(const motif_train_options& o) {
  return {{"margin", o.margin},
          {"margin2", o.margin2},
          {"learning_rate", o.learning_rate},
          {"weight_decay", o.weight_decay},
          {"loss", o.loss},
          {"distance", o.distance},
          {"reduction", o.reduction},
          {"anchor_swap", o.anchor_swap},
          {"intra_penalty", o.intra_penalty},
          {"bn_mode", o.bn_mode},
          {"freeze_stages", o.freeze_stages}};
}

static motif_train_options options_from(const Json& j) {  // throws Json::exception
  motif_train_options o{};
  j.at("margin").get_to(o.margin);
  j.at("margin2").get_to(o.margin2);
  j.at("learning_rate").get_to(o.learning_rate);
  j.at("weight_decay").get_to(o.weight_decay);
  j.at("loss").get_to(o.loss);
  j.at("distance").get_to(o.distance);
  j.at("reduction").get_to(o.reduction);
  j.at("anchor_swap").get_to(o.anchor_swap);
  j.at("intra_penalty").get_to(o.intra_penalty);
  j.at("bn_mode").get_to(o.bn_mode);
  j.at("freeze_stages").get_to(o.freeze_stages);
  return o;
}

void Model::save(const std::string& path, const std::string& user_json) {
  Json meta = {{"format", kFormat}};
  meta.update(metadata_json());  // appends, in order (ordered_json)
  meta["format_version"] = 1;
  meta["content_hash"] = content_hash(*net_);
  meta["train_options"] = configured_ ? options_json(topts_) : Json();
  Json user;
  if (!user_json.empty()) {
    try {
      user = parse_json(user_json);
    } catch (const MotifError& e) {
      fail(MOTIF_ERR_INVALID_ARGUMENT, std::string("user metadata is not valid JSON: ") + e.what());
    }
  }
  meta["user"] = user;

  torch::serialize::OutputArchive ar, model_ar;
  ar.write("metadata", c10::IValue(meta.dump()));
  net_->save(model_ar);
  ar.write("model", model_ar);
  if (opt_) {
    torch::serialize::OutputArchive opt_ar;
    opt_->save(opt_ar);
    ar.write("optimizer", opt_ar);
  }
  // Write then rename: a crash never leaves a half-written checkpoint under the final name.
  std::string tmp = path + ".tmp";
  try {
    ar.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    fail(MOTIF_ERR_IO, "cannot write checkpoint '" + path + "': " + e.what_without_backtrace());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail(MOTIF_ERR_IO, "cannot move checkpoint into place at '" + path + "'");
  }
}

static void open_archive(const std::string& path, torch::serialize::InputArchive& ar) {
  if (!std::ifstream(path, std::ios::binary)) read_file(path);  // raises MOTIF_ERR_IO with errno text
  try {
    ar.load_from(path);
  } catch (const c10::Error& e) {
    std::string m = e.what_without_backtrace();
    fail(MOTIF_ERR_FORMAT, "'" + path + "' is not a Motif checkpoint: " + m.substr(0, m.find('\n')));
  }
}

static Json read_meta(torch::serialize::InputArchive& ar, const std::string& path) {
  c10::IValue iv;
  if (!ar.try_read("metadata", iv) || !iv.isString())
    fail(MOTIF_ERR_FORMAT, "'" + path + "' is not a Motif checkpoint (no metadata)");
  Json meta = parse_json(iv.toStringRef());
  if (!meta.contains("format") || meta.at("format") != kFormat)
    fail(MOTIF_ERR_FORMAT, "'" + path + "' is not a Motif checkpoint (format)");
  return meta;
}

std::string Model::read_metadata(const std::string& path) {
  torch::serialize::InputArchive ar;
  open_archive(path, ar);
  return read_meta(ar, path).dump();
}

void Model::load(const std::string& path) {
  torch::serialize::InputArchive ar;
  open_archive(path, ar);
  Json meta = read_meta(ar, path);
  // Every field is read here, so that malformed metadata fails before anything changes.
  const std::string mine = net_->cfg.canonical();
  std::string arch, hash;
  int64_t step = 0;
  double pooling = 1.0;  // checkpoints written before GeM pooled by the mean
  double detail = 0.0;   // and saw the whole input only
  std::optional<motif_train_options> options;
  try {
    meta.at("architecture").get_to(arch);
    if (arch != mine)
      fail(MOTIF_ERR_MISMATCH, "checkpoint '" + path + "' holds architecture '" + arch + "' but the model is '" + mine + "'");
    meta.at("content_hash").get_to(hash);
    meta.at("step").get_to(step);
    if (meta.contains("pooling_power")) meta.at("pooling_power").get_to(pooling);
    if (!pooling_in_range(pooling))
      fail(MOTIF_ERR_FORMAT, "checkpoint '" + path + "' has pooling power " + std::to_string(pooling) + ", outside 1 to 16");
    if (meta.contains("detail_view")) meta.at("detail_view").get_to(detail);
    if (!detail_view_in_range(detail))
      fail(MOTIF_ERR_FORMAT, "checkpoint '" + path + "' has detail view " + std::to_string(detail) + ", not 0 or between 0.1 and 1");
    const Json& to = meta.at("train_options");  // null: training was never configured
    if (to.is_object()) options = options_from(to);
  } catch (const Json::exception& e) {
    fail(MOTIF_ERR_FORMAT, "checkpoint '" + path + "' has malformed metadata: " + e.what());
  }
  // Load into a scratch network, verify the content hash, and only then overwrite ours.
  auto tmp = ResNet(net_->cfg);
  try {
    torch::serialize::InputArchive model_ar;
    ar.read("model", model_ar);
    tmp->load(model_ar);
  } catch (const c10::Error& e) {
    std::string m = e.what_without_backtrace();
    fail(MOTIF_ERR_FORMAT, "checkpoint '" + path + "' is incomplete: " + m.substr(0, m.find('\n')));
  }
  if (content_hash(*tmp) != hash)
    fail(MOTIF_ERR_FORMAT, "checkpoint '" + path + "' is corrupt (content hash mismatch)");
  {
    torch::NoGradGuard ng;
    auto dst = state_entries(*net_);
    auto src = state_entries(*tmp);
    for (size_t i = 0; i < dst.size(); ++i) dst[i].second.copy_(src[i].second);
  }
  step_ = step;
  pooling_power_ = pooling;
  detail_view_ = detail;
  opt_.reset();
  configured_ = false;
  torch::serialize::InputArchive opt_ar;
  if (options) {
    configure(*options);
    if (ar.try_read("optimizer", opt_ar)) opt_->load(opt_ar);
    if (!device_.is_cpu())  // the archive was read on the CPU; Adam's moments follow the weights
      for (auto& kv : opt_->state()) {
        auto& st = static_cast<torch::optim::AdamParamState&>(*kv.second);
        st.exp_avg(st.exp_avg().to(device_));
        st.exp_avg_sq(st.exp_avg_sq().to(device_));
        if (st.max_exp_avg_sq().defined()) st.max_exp_avg_sq(st.max_exp_avg_sq().to(device_));
      }
  }
}

}  // namespace motif
