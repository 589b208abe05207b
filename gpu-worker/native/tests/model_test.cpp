// C API behaviour: creation, info, embedding properties, threading, errors, checkpoints.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "test_support.h"

namespace {

const int64_t H = 48, W = 48;

TEST(Api, AbiVersionAndThreads) {
  EXPECT_EQ(motif_abi_version(), MOTIF_ABI_VERSION);
  MOTIF_OK_(motif_set_num_threads(2));
  int32_t n = 0;
  MOTIF_OK_(motif_get_num_threads(&n));
  EXPECT_EQ(n, 2);
  EXPECT_EQ(motif_set_num_threads(0), MOTIF_ERR_INVALID_ARGUMENT);
}

TEST(Api, PresetDimsAndInfo) {
  struct { const char* arch; int64_t dim, classes; const char* color; } cases[] = {
      {"resnet50", 2048, 1000, "RGB"}, {"resnext50_32x4d", 2048, 1000, "RGB"},
      {"keras_resnet50", 2048, 1000, "BGR"}, {"resnet50:classes=0", 2048, 0, "RGB"}};
  for (auto& c : cases) {
    ModelPtr m(c.arch);
    int64_t d = 0, k = 0;
    MOTIF_OK_(motif_model_dims(m, &d, &k));
    EXPECT_EQ(d, c.dim);
    EXPECT_EQ(k, c.classes);
    std::string info = m.info();
    EXPECT_NE(info.find(std::string("\"color_order\":\"") + c.color + "\""), std::string::npos) << info;
  }
  ModelPtr custom("torchvision:layers=1-2-1-1;base=16;groups=2;width_per_group=16;classes=10");
  EXPECT_NE(custom.info().find("\"architecture\":\"torchvision:layers=1-2-1-1;base=16;groups=2;width_per_group=16;"
                               "classes=10;bn_eps=1e-05\""), std::string::npos) << custom.info();
  EXPECT_EQ(custom.dim(), 512);
}

TEST(Api, StringBufferProtocol) {
  ModelPtr m(kTiny);
  int64_t need = 0;
  char small[4];
  EXPECT_EQ(motif_model_info(m, small, sizeof small, &need), MOTIF_ERR_BUFFER_TOO_SMALL);
  EXPECT_GT(need, 4);
  EXPECT_EQ(int64_t(m.info().size()) + 1, need);
}

TEST(Api, BadArgumentsGiveCodesAndMessages) {
  motif_model* m = nullptr;
  EXPECT_EQ(motif_model_create("resnet51", "cpu", &m), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(motif_last_error()).find("unknown architecture 'resnet51'"), std::string::npos);
  EXPECT_EQ(motif_model_create("torchvision:layers=1-1-1", "cpu", &m), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_model_create("torchvision:depth=5", "cpu", &m), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_model_create(nullptr, "cpu", &m), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_model_create("resnet50", "tpu", &m), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_model_destroy(nullptr), MOTIF_OK);

  ModelPtr t(kTiny);
  auto x = noise(3 * H * W, 1);
  std::vector<float> e(size_t(t.dim())), l(4);
  EXPECT_EQ(motif_embed(nullptr, x.data(), 1, 3, H, W, e.data(), 256, nullptr, 0), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_embed(t, x.data(), 1, 3, H, W, e.data(), 10, nullptr, 0), MOTIF_ERR_BUFFER_TOO_SMALL);
  EXPECT_NE(std::string(motif_last_error()).find("needs 256"), std::string::npos) << motif_last_error();
  EXPECT_EQ(motif_embed(t, x.data(), 1, 1, H, W * 3, e.data(), 256, nullptr, 0), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_embed(t, nullptr, 1, 3, H, W, e.data(), 256, nullptr, 0), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_embed(t, x.data(), 1, 3, H, W, e.data(), 256, l.data(), 3), MOTIF_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(motif_embed(t, x.data(), 0, 3, H, W, e.data(), 256, nullptr, 0), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_embed(t, x.data(), -1, 3, H, W, e.data(), 256, nullptr, 0), MOTIF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(motif_embed(t, x.data(), int64_t(1) << 40, 3, H, W, e.data(), 256, nullptr, 0),
            MOTIF_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(motif_model_init(t, 9, 0), MOTIF_ERR_INVALID_ARGUMENT);
  int64_t numel = 0;
  EXPECT_EQ(motif_model_tensor(t, "layer9.weight", nullptr, 0, &numel, nullptr, nullptr), MOTIF_ERR_INVALID_ARGUMENT);
  // a successful call clears the message
  MOTIF_OK_(motif_embed(t, x.data(), 1, 3, H, W, e.data(), 256, nullptr, 0));
  EXPECT_STREQ(motif_last_error(), "");
}

TEST(Embed, UnitNormPerImageAndBatchIndependent) {
  ModelPtr m(kTiny);
  MOTIF_OK_(motif_model_init(m, MOTIF_INIT_RANDOM, 7));
  const int64_t n = 3, d = m.dim(), img = 3 * H * W;
  auto x = noise(n * img, 11);
  for (int64_t i = 0; i < img; ++i) x[size_t(img + i)] *= 5;  // image 1 much brighter
  auto e = m.embed(x, n, H, W);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) s += double(e[size_t(i * d + k)]) * e[size_t(i * d + k)];
    EXPECT_NEAR(s, 1.0, 1e-5) << "image " << i << " not unit length (normalised per batch?)";
  }
  // image 1 alone gives the same vector as inside the batch (eval-mode BN, per-image norm)
  std::vector<float> one(x.begin() + img, x.begin() + 2 * img);
  auto e1 = m.embed(one, 1, H, W);
  for (int64_t k = 0; k < d; ++k) EXPECT_NEAR(e1[size_t(k)], e[size_t(d + k)], 1e-5);
  // logits come with the head
  std::vector<float> emb(size_t(n * d)), logits(size_t(n * 4));
  MOTIF_OK_(motif_embed(m, x.data(), n, 3, H, W, emb.data(), n * d, logits.data(), n * 4));
  EXPECT_EQ(emb, e);
  EXPECT_NE(logits[0], logits[1]);
}

TEST(Embed, ConcurrentCallersAreSerialisedOnTheEngineThread) {
  ModelPtr m(kTiny);
  auto x = noise(2 * 3 * H * W, 5);
  auto ref = m.embed(x, 2, H, W);
  std::vector<std::vector<float>> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int r = 0; r < 3; ++r) got[size_t(t)] = m.embed(x, 2, H, W);
    });
  for (auto& t : ts) t.join();
  for (auto& g : got) EXPECT_EQ(g, ref);
}

TEST(Weights, AbsentCorruptAndWrongFilesGiveClearErrors) {
  ModelPtr m("resnet50");
  EXPECT_EQ(motif_model_load_weights(m, "/nonexistent/weights.pt"), MOTIF_ERR_IO);
  EXPECT_NE(std::string(motif_last_error()).find("/nonexistent/weights.pt"), std::string::npos);
  std::string junk = temp_path("junk.pt");
  write_bytes(junk, "this is not a pickle");
  EXPECT_EQ(motif_model_load_weights(m, junk.c_str()), MOTIF_ERR_FORMAT);
  EXPECT_NE(std::string(motif_last_error()).find("not a readable torch.save file"), std::string::npos);
  // a valid state dict of another architecture: the message lists what does not fit
  std::string tiny = golden_dir() + "/tiny_state_dict.pt";
  EXPECT_EQ(motif_model_load_weights(m, tiny.c_str()), MOTIF_ERR_MISMATCH);
  std::string msg = motif_last_error();
  EXPECT_NE(msg.find("Missing: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("Shape mismatch: conv1.weight [16,3,7,7] vs model [64,3,7,7]"), std::string::npos) << msg;
  // TF.js: broken JSON, missing shard, short shard
  std::string js = temp_path("model.json");
  write_bytes(js, "{\"weightsManifest\": [");
  EXPECT_EQ(motif_model_load_weights(m, js.c_str()), MOTIF_ERR_FORMAT);
  write_bytes(js, R"({"weightsManifest":[{"paths":["absent.bin"],"weights":[{"name":"conv1/kernel","shape":[7,7,3,64],"dtype":"float32"}]}]})");
  EXPECT_EQ(motif_model_load_weights(m, js.c_str()), MOTIF_ERR_IO);
  std::string shard = temp_path("short.bin");
  write_bytes(shard, std::string(100, '\0'));
  write_bytes(js, R"({"weightsManifest":[{"paths":[")" + shard.substr(shard.rfind('/') + 1) +
                      R"("],"weights":[{"name":"conv1/kernel","shape":[7,7,3,64],"dtype":"float32"}]}]})");
  EXPECT_EQ(motif_model_load_weights(m, js.c_str()), MOTIF_ERR_FORMAT);
  EXPECT_NE(std::string(motif_last_error()).find("too short"), std::string::npos) << motif_last_error();
  for (auto& p : {junk, js, shard}) std::remove(p.c_str());
}

TEST(Weights, FailedLoadLeavesTheModelUnchanged) {
  ModelPtr m(kTiny);
  auto x = noise(3 * H * W, 2);
  auto before = m.embed(x, 1, H, W);
  std::string tiny = golden_dir() + "/tiny_state_dict.pt";  // another architecture
  EXPECT_EQ(motif_model_load_weights(m, tiny.c_str()), MOTIF_ERR_MISMATCH);
  EXPECT_EQ(m.embed(x, 1, H, W), before);
}

TEST(Checkpoint, SaveLoadGivesIdenticalEmbeddingsAndMetadata) {
  ModelPtr a(kTiny), b(kTiny);
  MOTIF_OK_(motif_model_init(a, MOTIF_INIT_RANDOM, 3));
  MOTIF_OK_(motif_model_init(b, MOTIF_INIT_RANDOM, 4));
  auto x = noise(2 * 3 * H * W, 9);
  std::string path = temp_path("ckpt.motif");
  MOTIF_OK_(motif_checkpoint_save(a, path.c_str(), R"({"parent_version":"v7","input_size":320})"));
  EXPECT_NE(b.embed(x, 2, H, W), a.embed(x, 2, H, W));
  MOTIF_OK_(motif_checkpoint_load(b, path.c_str()));
  EXPECT_EQ(b.embed(x, 2, H, W), a.embed(x, 2, H, W));  // bit-identical

  int64_t need = 0;
  EXPECT_EQ(motif_checkpoint_metadata(path.c_str(), nullptr, 0, &need), MOTIF_ERR_BUFFER_TOO_SMALL);
  std::string meta(size_t(need), '\0');
  MOTIF_OK_(motif_checkpoint_metadata(path.c_str(), meta.data(), need, &need));
  for (const char* key : {"\"format\":\"motif-checkpoint\"", "\"architecture\":\"torchvision:layers=1-1-1-1",
                          "\"embedding_dim\":256", "\"step\":0", "\"content_hash\":\"sha256:",
                          "\"user\":{\"parent_version\":\"v7\",\"input_size\":320}", "\"preprocessing\":"})
    EXPECT_NE(meta.find(key), std::string::npos) << key << " in " << meta;
  EXPECT_EQ(motif_checkpoint_save(a, path.c_str(), "{not json"), MOTIF_ERR_INVALID_ARGUMENT);
  std::remove(path.c_str());
}

TEST(Pooling, GemIsTheMeanAtOnePositionDiffersElsewhereAndTravelsWithCheckpoints) {
  ModelPtr a(kTiny), b(kTiny);
  MOTIF_OK_(motif_model_init(a, MOTIF_INIT_RANDOM, 3));
  MOTIF_OK_(motif_model_init(b, MOTIF_INIT_RANDOM, 3));
  EXPECT_NE(a.info().find("\"pooling_power\":1.0"), std::string::npos) << a.info();
  MOTIF_OK_(motif_model_set_pooling(a, 3.0));
  EXPECT_NE(a.info().find("\"pooling_power\":3.0"), std::string::npos) << a.info();
  // A 32-pixel input leaves layer4 one position: every generalized mean of one value is that value.
  auto one = noise(2 * 3 * 32 * 32, 5);
  auto ea = a.embed(one, 2, 32, 32), eb = b.embed(one, 2, 32, 32);
  for (size_t i = 0; i < ea.size(); ++i) EXPECT_NEAR(ea[i], eb[i], 1e-5) << i;
  // Over 2x2 positions and more, GeM weighs the strongest activations more than the mean does.
  auto x = noise(2 * 3 * H * W, 9);
  auto gem = a.embed(x, 2, H, W), mean = b.embed(x, 2, H, W);
  double diff = 0;
  for (size_t i = 0; i < gem.size(); ++i) diff = std::max(diff, double(std::fabs(gem[i] - mean[i])));
  EXPECT_GT(diff, 1e-3);
  // A checkpoint carries its pooling: b loads a's and embeds as a does; one without the field pools by the mean.
  std::string path = temp_path("gem.motif");
  MOTIF_OK_(motif_checkpoint_save(a, path.c_str(), nullptr));
  MOTIF_OK_(motif_checkpoint_load(b, path.c_str()));
  EXPECT_EQ(b.embed(x, 2, H, W), gem);
  EXPECT_NE(b.info().find("\"pooling_power\":3.0"), std::string::npos) << b.info();
  // Out of range: below the mean, beyond fp32's reach, not a number; the model keeps its pooling.
  for (double bad : {0.5, 17.0, std::nan("")}) EXPECT_EQ(motif_model_set_pooling(a, bad), MOTIF_ERR_INVALID_ARGUMENT) << bad;
  EXPECT_EQ(a.embed(x, 2, H, W), gem);
  std::remove(path.c_str());
}

TEST(DetailView, SeesTheCentreBesideTheWholeTrainsAndTravelsWithCheckpoints) {
  ModelPtr a(kTiny), b(kTiny);
  MOTIF_OK_(motif_model_init(a, MOTIF_INIT_RANDOM, 3));
  MOTIF_OK_(motif_model_init(b, MOTIF_INIT_RANDOM, 3));
  EXPECT_NE(a.info().find("\"detail_view\":0.0"), std::string::npos) << a.info();
  MOTIF_OK_(motif_model_set_detail_view(a, 0.75));
  EXPECT_NE(a.info().find("\"detail_view\":0.75"), std::string::npos) << a.info();
  // A uniform image looks the same in any window: the detail's unit signature is the whole's, and so is their
  // normalised sum.
  std::vector<float> flat(size_t(2) * 3 * H * W);
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = (i / (size_t(H) * W)) % 3 == 0 ? 0.7f : -0.4f;
  auto fa = a.embed(flat, 2, H, W), fb = b.embed(flat, 2, H, W);
  for (size_t i = 0; i < fa.size(); ++i) EXPECT_NEAR(fa[i], fb[i], 1e-5) << i;
  // Any other image: the centre is not the whole, so the signature moves, and stays a unit vector.
  auto x = noise(2 * 3 * H * W, 9);
  auto seen = a.embed(x, 2, H, W), whole = b.embed(x, 2, H, W);
  double diff = 0, norm = 0;
  for (size_t i = 0; i < seen.size(); ++i) diff = std::max(diff, double(std::fabs(seen[i] - whole[i])));
  for (size_t i = 0; i < seen.size() / 2; ++i) norm += double(seen[i]) * seen[i];
  EXPECT_GT(diff, 1e-3);
  EXPECT_NEAR(norm, 1.0, 1e-5);
  // A checkpoint carries it: b loads a's and embeds as a does.
  std::string path = temp_path("detail.motif");
  MOTIF_OK_(motif_checkpoint_save(a, path.c_str(), nullptr));
  MOTIF_OK_(motif_checkpoint_load(b, path.c_str()));
  EXPECT_EQ(b.embed(x, 2, H, W), seen);
  EXPECT_NE(b.info().find("\"detail_view\":0.75"), std::string::npos) << b.info();
  // Training goes through both views: a step runs and its loss is finite.
  motif_train_options o;
  MOTIF_OK_(motif_train_options_default(&o));
  o.freeze_stages = 0;
  MOTIF_OK_(motif_train_configure(a, &o));
  auto t = noise(3 * 3 * H * W, 11);
  const size_t one = size_t(3) * H * W;
  std::vector<float> ta(t.begin(), t.begin() + one), tb(t.begin() + one, t.begin() + 2 * one), tc(t.begin() + 2 * one, t.end());
  float loss = -1;
  MOTIF_OK_(motif_train_step(a, ta.data(), tb.data(), tc.data(), 1, 3, H, W, &loss, nullptr, nullptr, nullptr));
  EXPECT_TRUE(std::isfinite(loss));
  // Out of range: too small a window, the whole input, negative, not a number; the model keeps its view.
  for (double bad : {0.05, 1.0, -0.5, std::nan("")}) EXPECT_EQ(motif_model_set_detail_view(b, bad), MOTIF_ERR_INVALID_ARGUMENT) << bad;
  EXPECT_EQ(b.embed(x, 2, H, W), seen);
  MOTIF_OK_(motif_model_set_detail_view(b, 0.0));
  EXPECT_EQ(b.embed(x, 2, H, W), whole);
  std::remove(path.c_str());
}

TEST(Checkpoint, WrongArchitectureCorruptAndAbsentFiles) {
  ModelPtr tiny(kTiny), other("torchvision:layers=1-1-1-1;base=8;classes=5");
  std::string path = temp_path("arch.motif");
  MOTIF_OK_(motif_checkpoint_save(tiny, path.c_str(), nullptr));
  EXPECT_EQ(motif_checkpoint_load(other, path.c_str()), MOTIF_ERR_MISMATCH);
  EXPECT_NE(std::string(motif_last_error()).find("classes=4"), std::string::npos) << motif_last_error();

  EXPECT_EQ(motif_checkpoint_load(tiny, "/nonexistent/x.motif"), MOTIF_ERR_IO);
  EXPECT_EQ(motif_checkpoint_save(tiny, "/nonexistent/dir/x.motif", nullptr), MOTIF_ERR_IO);
  EXPECT_NE(std::string(motif_last_error()).find("/nonexistent/dir/x.motif"), std::string::npos);
  std::string bytes = read_text(path), bad = temp_path("bad.motif");
  write_bytes(bad, bytes.substr(0, bytes.size() / 2));  // truncated
  EXPECT_EQ(motif_checkpoint_load(tiny, bad.c_str()), MOTIF_ERR_FORMAT) << motif_last_error();
  write_bytes(bad, "garbage");
  EXPECT_EQ(motif_checkpoint_load(tiny, bad.c_str()), MOTIF_ERR_FORMAT);
  // a torchvision state dict is not a checkpoint
  EXPECT_EQ(motif_checkpoint_load(tiny, (golden_dir() + "/tiny_state_dict.pt").c_str()), MOTIF_ERR_FORMAT);
  // flipped bytes inside the weights: zip CRC or our content hash catches it
  std::string flipped = bytes;
  for (size_t off = bytes.size() / 3; off < bytes.size() / 3 + 64; ++off) flipped[off] ^= 0x5A;
  write_bytes(bad, flipped);
  EXPECT_EQ(motif_checkpoint_load(tiny, bad.c_str()), MOTIF_ERR_FORMAT) << motif_last_error();
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

}  // namespace

namespace {
// The in-engine allocator (util.cpp) madvises blocks >= 2 MiB; resnet50's larger conv
// weights (4-9 MiB each, ~70 MiB in all) must therefore sit on transparent huge pages.
// Only meaningful where THP is in "madvise" mode (this VM): with "always" everything is
// huge anyway, with "never" nothing can be.
long anon_huge_kib() {
  std::string s = read_text("/proc/self/smaps_rollup");
  auto p = s.find("AnonHugePages:");
  return p == std::string::npos ? -1 : std::atol(s.c_str() + p + 14);
}

TEST(Memory, LargeTensorsAreBackedByHugePages) {
  if (read_text("/sys/kernel/mm/transparent_hugepage/enabled").find("[madvise]") == std::string::npos)
    GTEST_SKIP() << "transparent huge pages are not in madvise mode here";
  const char* env = std::getenv("MOTIF_HUGEPAGES");
  if (env && std::string(env) == "0") GTEST_SKIP() << "disabled by MOTIF_HUGEPAGES=0";
  long before = anon_huge_kib();
  ASSERT_GE(before, 0) << "no /proc/self/smaps_rollup";
  ModelPtr m("resnet50");
  EXPECT_GE(anon_huge_kib() - before, 16 * 1024) << "large weights are not on huge pages";
}
}  // namespace

namespace {
long minor_faults() {
  std::string s = read_text("/proc/self/stat");
  // field 10 (minflt) after the ")" that ends the command name
  std::istringstream is(s.substr(s.rfind(')') + 2));
  std::string f;
  for (int i = 3; i <= 10; ++i) is >> f;
  return std::atol(f.c_str());
}

TEST(Memory, RepeatedBatchesTakeNoPageFaults) {
  // Activations of 32 MiB and more are always mmap'd and unmapped again by glibc, so without
  // the engine's caching allocator every batch faults them in afresh (thousands of faults);
  // with it, the second identical batch reuses every block.
  const char* env = std::getenv("MOTIF_HUGEPAGES");
  if (env && std::string(env) == "0") GTEST_SKIP() << "disabled by MOTIF_HUGEPAGES=0";
  ModelPtr m("torchvision:layers=1-1-1-1;base=32;classes=0");  // stem output 4x32x256x256 = 32 MiB
  const int64_t n = 4, s = 512;
  auto x = noise(n * 3 * s * s, 3);
  auto first = m.embed(x, n, s, s);
  long before = minor_faults();
  auto second = m.embed(x, n, s, s);
  long faults = minor_faults() - before;
  EXPECT_EQ(first, second);
  EXPECT_LT(faults, 1000) << "page faults in a repeated batch";
  std::printf("[memory] page faults in the repeated batch: %ld\n", faults);
}
}  // namespace

namespace {
// Export a small Keras-family model as a TF.js layers-model with the LATER Keras naming
// (conv2_block1_1_conv, ...; the packaged file uses the older res2a_branch2a naming, which the
// golden test covers), in Keras layouts ([kh,kw,cin,cout] kernels, [cin,cout] dense), with the
// manifest in reverse order and BN epsilon 1.001e-5 in the topology; load it into a model
// created with epsilon 1e-3 and expect identical embeddings and the file's epsilon adopted.
TEST(Weights, TfjsRoundTripWithLaterKerasNaming) {
  const std::string src_arch = "keras:layers=1-1-1-1;base=8;classes=4;bn_eps=1.001e-05";
  ModelPtr src(src_arch), dst("keras:layers=1-1-1-1;base=8;classes=4;bn_eps=0.001");
  MOTIF_OK_(motif_model_init(src, MOTIF_INIT_TEST_PATTERN, 0));
  struct Entry { std::string torch, keras; };
  std::vector<Entry> entries;
  auto conv = [&](const std::string& t, const std::string& k) {
    entries.push_back({t + ".weight", k + "/kernel"});
    entries.push_back({t + ".bias", k + "/bias"});
  };
  auto bn = [&](const std::string& t, const std::string& k) {
    entries.push_back({t + ".weight", k + "/gamma"});
    entries.push_back({t + ".bias", k + "/beta"});
    entries.push_back({t + ".running_mean", k + "/moving_mean"});
    entries.push_back({t + ".running_var", k + "/moving_variance"});
  };
  conv("conv1", "conv1_conv");
  bn("bn1", "conv1_bn");
  for (int s = 1; s <= 4; ++s) {
    std::string t = "layer" + std::to_string(s) + ".0.", k = "conv" + std::to_string(s + 1) + "_block1_";
    for (int i = 1; i <= 3; ++i) {
      conv(t + "conv" + std::to_string(i), k + std::to_string(i) + "_conv");
      bn(t + "bn" + std::to_string(i), k + std::to_string(i) + "_bn");
    }
    conv(t + "downsample.0", k + "0_conv");
    bn(t + "downsample.1", k + "0_bn");
  }
  conv("fc", "predictions");
  std::reverse(entries.begin(), entries.end());

  std::string shard_bytes, weights_json, layers_json;
  for (auto& e : entries) {
    int64_t numel = 0, shape[8];
    int32_t ndim = 0;
    MOTIF_OK_(motif_model_tensor(src, e.torch.c_str(), nullptr, 0, &numel, shape, &ndim));
    std::vector<float> v(static_cast<size_t>(numel)), k(v.size());
    MOTIF_OK_(motif_model_tensor(src, e.torch.c_str(), v.data(), numel, &numel, nullptr, nullptr));
    std::vector<int64_t> kshape;
    if (ndim == 4) {  // [co,ci,kh,kw] -> [kh,kw,ci,co]
      int64_t co = shape[0], ci = shape[1], kh = shape[2], kw = shape[3];
      for (int64_t o = 0; o < co; ++o)
        for (int64_t i = 0; i < ci; ++i)
          for (int64_t y = 0; y < kh; ++y)
            for (int64_t x = 0; x < kw; ++x)
              k[size_t(((y * kw + x) * ci + i) * co + o)] = v[size_t(((o * ci + i) * kh + y) * kw + x)];
      kshape = {kh, kw, ci, co};
    } else if (ndim == 2) {  // [co,ci] -> [ci,co]
      for (int64_t o = 0; o < shape[0]; ++o)
        for (int64_t i = 0; i < shape[1]; ++i) k[size_t(i * shape[0] + o)] = v[size_t(o * shape[1] + i)];
      kshape = {shape[1], shape[0]};
    } else {
      k = v;
      kshape = {shape[0]};
    }
    shard_bytes.append(reinterpret_cast<const char*>(k.data()), k.size() * sizeof(float));
    std::string dims;
    for (size_t d = 0; d < kshape.size(); ++d) dims += (d ? "," : "") + std::to_string(kshape[d]);
    weights_json += std::string(weights_json.empty() ? "" : ",") + R"({"name":")" + e.keras +
                    R"(","shape":[)" + dims + R"(],"dtype":"float32"})";
    if (e.keras.find("_bn/gamma") != std::string::npos)
      layers_json += std::string(layers_json.empty() ? "" : ",") + R"({"class_name":"BatchNormalization","config":{"name":")" +
                     e.keras.substr(0, e.keras.find('/')) + R"(","epsilon":1.001e-05}})";
  }
  std::string shard = temp_path("group1-shard1of1.bin"), json = temp_path("tfjs_model.json");
  write_bytes(shard, shard_bytes);
  write_bytes(json, R"({"format":"layers-model","modelTopology":{"model_config":{"config":{"layers":[)" + layers_json +
                        R"(]}}},"weightsManifest":[{"paths":[")" + shard.substr(shard.rfind('/') + 1) +
                        R"("],"weights":[)" + weights_json + "]}]}");
  MOTIF_OK_(motif_model_load_weights(dst, json.c_str()));
  EXPECT_NE(dst.info().find("bn_eps=1.001e-05"), std::string::npos) << dst.info();
  auto x = noise(2 * 3 * 64 * 64, 4, 50.0);
  EXPECT_EQ(dst.embed(x, 2, 64, 64), src.embed(x, 2, 64, 64));
  std::remove(shard.c_str());
  std::remove(json.c_str());
}
}  // namespace
