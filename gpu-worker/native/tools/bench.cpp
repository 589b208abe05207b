// motif_engine_bench — embed images/s and train-step seconds through the C API, for
// `make bench` (the caller prints PyTorch's numbers from the same run beside these).
//   motif_engine_bench [--arch resnet50] [--batch 16] [--size 224] [--threads 2]
//                      [--iters 5] [--triplets 8] [--train-iters 2] [--device cpu|cuda] [--precision fp32|bf16]
// Prints one JSON line. Inputs are synthetic: speed does not depend on pixel values.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "motif_engine.h"

static long minor_faults() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_minflt;
}

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#define CHECK(call)                                                              \
  do {                                                                           \
    if ((call) != MOTIF_OK) {                                                    \
      std::fprintf(stderr, "%s failed: %s\n", #call, motif_last_error());        \
      return 1;                                                                  \
    }                                                                            \
  } while (0)

int main(int argc, char** argv) {
  std::string arch = "resnet50", device = "cpu", precision = "";
  int64_t batch = 16, size = 224, iters = 5, triplets = 8, train_iters = 2;
  int32_t threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--arch") arch = v;
    else if (k == "--batch") batch = std::atoll(v);
    else if (k == "--size") size = std::atoll(v);
    else if (k == "--threads") threads = std::atoi(v);
    else if (k == "--iters") iters = std::atoll(v);
    else if (k == "--triplets") triplets = std::atoll(v);
    else if (k == "--train-iters") train_iters = std::atoll(v);
    else if (k == "--device") device = v;
    else if (k == "--precision") precision = v;
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  CHECK(motif_set_num_threads(threads));
  motif_model* m = nullptr;
  CHECK(motif_model_create(arch.c_str(), device.c_str(), &m));
  if (!precision.empty())  // otherwise the device's default: bf16 + channels-last on CUDA, fp32 on CPU
    CHECK(motif_model_set_precision(m, precision == "bf16" ? MOTIF_PRECISION_BF16 : MOTIF_PRECISION_FP32, precision == "bf16"));
  int64_t dim = 0, classes = 0;
  CHECK(motif_model_dims(m, &dim, &classes));
  std::vector<float> x(size_t(batch * 3 * size * size));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  std::vector<float> emb(size_t(batch * dim));
  CHECK(motif_embed(m, x.data(), batch, 3, size, size, emb.data(), int64_t(emb.size()), nullptr, 0));  // warm-up
  long f0 = minor_faults();
  double t0 = now();
  for (int64_t i = 0; i < iters; ++i)
    CHECK(motif_embed(m, x.data(), batch, 3, size, size, emb.data(), int64_t(emb.size()), nullptr, 0));
  double embed_ips = double(batch * iters) / (now() - t0);
  double faults_per_batch = double(minor_faults() - f0) / double(iters);

  double train_s = 0;
  if (train_iters > 0) {
    motif_train_options o;
    CHECK(motif_train_options_default(&o));
    CHECK(motif_train_configure(m, &o));
    std::vector<float> a(x.begin(), x.begin() + triplets * 3 * size * size);
    float loss;
    CHECK(motif_train_step(m, a.data(), a.data(), a.data(), triplets, 3, size, size, &loss, nullptr, nullptr, nullptr));
    t0 = now();
    for (int64_t i = 0; i < train_iters; ++i)
      CHECK(motif_train_step(m, a.data(), a.data(), a.data(), triplets, 3, size, size, &loss, nullptr, nullptr, nullptr));
    train_s = (now() - t0) / double(train_iters);
  }
  const char* hp = std::getenv("MOTIF_HUGEPAGES");
  std::printf("{\"engine\":\"motif\",\"device\":\"%s\",\"arch\":\"%s\",\"threads\":%d,\"batch\":%lld,\"size\":%lld,"
              "\"embed_images_per_s\":%.2f,\"page_faults_per_batch\":%.0f,\"train_triplets\":%lld,\"train_step_s\":%.3f,\"hugepages\":%s}\n",
              device.c_str(), arch.c_str(), threads, (long long)batch, (long long)size, embed_ips, faults_per_batch, (long long)triplets, train_s,
              hp && std::strcmp(hp, "0") == 0 ? "false" : "true");
  motif_model_destroy(m);
  return 0;
}
