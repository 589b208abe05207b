// The exported C ABI. Each function: validate pointers, hand the work to the engine thread,
// and turn every exception into a status code + thread-local message (no exception may
// unwind into the caller: that is undefined behaviour across a C ABI / P/Invoke).
#include <c10/util/Exception.h>

#include <cstring>
#include <limits>

#include "engine.h"

using namespace motif;

struct motif_model {
  std::unique_ptr<Model> impl;
};

namespace {
thread_local std::string g_last_error;

template <class F>
int32_t guarded(F&& f) noexcept {
  int32_t code;
  try {
    f();
    g_last_error.clear();
    return MOTIF_OK;
  } catch (const MotifError& e) {
    code = e.code;
    g_last_error = e.what();
  } catch (const c10::Error& e) {
    code = MOTIF_ERR_RUNTIME;
    g_last_error = std::string("libtorch: ") + e.what_without_backtrace();
  } catch (const std::bad_alloc&) {
    code = MOTIF_ERR_OUT_OF_MEMORY;
    g_last_error = "out of memory";
  } catch (const std::exception& e) {
    code = MOTIF_ERR_INTERNAL;
    g_last_error = std::string("internal error: ") + e.what();
  } catch (...) {
    code = MOTIF_ERR_INTERNAL;
    g_last_error = "internal error: unknown exception";
  }
  return code;
}

Model& model_of(motif_model* m) {
  if (!m || !m->impl) fail(MOTIF_ERR_INVALID_ARGUMENT, "model handle is NULL or destroyed");
  return *m->impl;
}

std::string str_arg(const char* s, const char* what) {
  if (!s) fail(MOTIF_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  return s;
}

// n * a * b ... without overflow; the caller's buffer length must cover it.
int64_t checked_count(std::initializer_list<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > std::numeric_limits<int64_t>::max() / d))
      fail(MOTIF_ERR_INVALID_ARGUMENT, "dimensions out of range");
    n *= d;
  }
  return n;
}

void need(int64_t have, int64_t want, const char* what) {
  if (have < want)
    fail(MOTIF_ERR_BUFFER_TOO_SMALL, std::string(what) + " holds " + std::to_string(have) +
                                         " elements, needs " + std::to_string(want));
}

void put_string(const std::string& s, char* buf, int64_t len, int64_t* needed) {
  if (!needed) fail(MOTIF_ERR_INVALID_ARGUMENT, "needed is NULL");
  *needed = int64_t(s.size()) + 1;
  if (!buf || len < *needed) fail(MOTIF_ERR_BUFFER_TOO_SMALL, "string buffer too small: needs " + std::to_string(*needed) + " bytes");
  std::memcpy(buf, s.c_str(), s.size() + 1);
}

void copy_out(const torch::Tensor& t, float* dst) {
  if (dst && t.defined()) {
    auto c = t.to(torch::kCPU, torch::kFloat).contiguous();
    std::memcpy(dst, c.data_ptr<float>(), size_t(c.numel()) * sizeof(float));
  }
}

template <class F>
auto on_engine(F&& f) -> decltype(f()) { return EngineThread::get().run(std::forward<F>(f)); }
}  // namespace

extern "C" {

MOTIF_API int32_t motif_abi_version(void) { return MOTIF_ABI_VERSION; }

MOTIF_API const char* motif_last_error(void) { return g_last_error.c_str(); }

MOTIF_API int32_t motif_set_num_threads(int32_t n) {
  return guarded([&] {
    if (n < 1 || n > 1024) fail(MOTIF_ERR_INVALID_ARGUMENT, "thread count must be in 1..1024");
    on_engine([&] { torch::set_num_threads(n); });
  });
}

MOTIF_API int32_t motif_get_num_threads(int32_t* out) {
  return guarded([&] {
    if (!out) fail(MOTIF_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = on_engine([] { return int32_t(torch::get_num_threads()); });
  });
}

MOTIF_API int32_t motif_train_options_default(motif_train_options* out) {
  return guarded([&] {
    if (!out) fail(MOTIF_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = default_options();
  });
}

MOTIF_API int32_t motif_model_create(const char* arch, const char* device, motif_model** out) {
  return guarded([&] {
    if (!out) fail(MOTIF_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = nullptr;
    std::string a = str_arg(arch, "arch"), d = device ? device : "cpu";
    auto m = std::make_unique<motif_model>();
    m->impl = on_engine([&] { return std::make_unique<Model>(a, d); });
    *out = m.release();
  });
}

MOTIF_API int32_t motif_model_destroy(motif_model* model) {
  return guarded([&] {
    std::unique_ptr<motif_model> owner(model);  // freed even if the engine reports an error
    if (owner) on_engine([&] { owner->impl.reset(); });  // tensors freed on the engine thread
  });
}

MOTIF_API int32_t motif_model_init(motif_model* model, int32_t scheme, uint64_t seed) {
  return guarded([&] {
    Model& m = model_of(model);
    on_engine([&] { m.init(scheme, seed); });
  });
}

MOTIF_API int32_t motif_model_load_weights(motif_model* model, const char* path) {
  return guarded([&] {
    Model& m = model_of(model);
    std::string p = str_arg(path, "path");
    on_engine([&] { m.load_weights(p); });
  });
}

MOTIF_API int32_t motif_model_info(motif_model* model, char* buf, int64_t buf_len, int64_t* needed) {
  return guarded([&] {
    Model& m = model_of(model);
    put_string(on_engine([&] { return m.info_json(); }), buf, buf_len, needed);
  });
}

MOTIF_API int32_t motif_model_dims(motif_model* model, int64_t* embedding_dim, int64_t* num_classes) {
  return guarded([&] {
    Model& m = model_of(model);
    ArchConfig c = on_engine([&] { return m.cfg(); });
    if (embedding_dim) *embedding_dim = c.embedding_dim();
    if (num_classes) *num_classes = c.num_classes;
  });
}

MOTIF_API int32_t motif_model_set_precision(motif_model* model, int32_t precision, int32_t channels_last) {
  return guarded([&] {
    Model& m = model_of(model);
    if (channels_last != 0 && channels_last != 1) fail(MOTIF_ERR_INVALID_ARGUMENT, "channels_last must be 0 or 1");
    on_engine([&] { m.set_precision(precision, channels_last == 1); });
  });
}

MOTIF_API int32_t motif_model_set_pooling(motif_model* model, double power) {
  return guarded([&] {
    Model& m = model_of(model);
    on_engine([&] { m.set_pooling(power); });
  });
}

MOTIF_API int32_t motif_model_set_detail_view(motif_model* model, double fraction) {
  return guarded([&] {
    Model& m = model_of(model);
    on_engine([&] { m.set_detail_view(fraction); });
  });
}

MOTIF_API int32_t motif_model_tensor(motif_model* model, const char* name, float* buf, int64_t buf_len,
                                     int64_t* numel, int64_t* shape, int32_t* ndim) {
  return guarded([&] {
    Model& m = model_of(model);
    std::string n = str_arg(name, "name");
    if (!numel) fail(MOTIF_ERR_INVALID_ARGUMENT, "numel is NULL");
    on_engine([&] {
      auto t = m.tensor(n);
      *numel = t.numel();
      if (ndim) *ndim = int32_t(t.dim());
      if (shape)
        for (int64_t d = 0; d < t.dim() && d < 8; ++d) shape[d] = t.size(d);
      if (buf) {
        need(buf_len, t.numel(), "tensor buffer");
        copy_out(t, buf);
      }
    });
  });
}

MOTIF_API int32_t motif_embed(motif_model* model, const float* x, int64_t n, int64_t c, int64_t h,
                              int64_t w, float* emb, int64_t emb_len, float* logits, int64_t logits_len) {
  return guarded([&] {
    Model& m = model_of(model);
    checked_count({n, c, h, w});
    need(emb_len, checked_count({n, m.cfg().embedding_dim()}), "embedding buffer");
    if (logits) need(logits_len, checked_count({n, m.cfg().num_classes}), "logits buffer");
    on_engine([&] { m.embed(x, n, c, h, w, emb, logits); });
  });
}

MOTIF_API int32_t motif_train_configure(motif_model* model, const motif_train_options* opts) {
  return guarded([&] {
    Model& m = model_of(model);
    if (!opts) fail(MOTIF_ERR_INVALID_ARGUMENT, "options are NULL");
    on_engine([&] { m.configure(*opts); });
  });
}

MOTIF_API int32_t motif_train_step(motif_model* model, const float* a, const float* b, const float* c_neg,
                                   int64_t n, int64_t c, int64_t h, int64_t w, float* loss, float* d_ab,
                                   float* d_ac, float* d_bc) {
  return guarded([&] {
    Model& m = model_of(model);
    if (!loss) fail(MOTIF_ERR_INVALID_ARGUMENT, "loss output is NULL");
    checked_count({3, n, c, h, w});
    on_engine([&] {
      LossResult r = m.train_triplets(a, b, c_neg, n, c, h, w);
      copy_out(r.loss, loss);
      copy_out(r.d_ab, d_ab);
      copy_out(r.d_ac, d_ac);
      copy_out(r.d_bc, d_bc);
    });
  });
}

MOTIF_API int32_t motif_train_step_pairs(motif_model* model, const float* a, const float* b,
                                         const float* labels, int64_t n, int64_t c, int64_t h, int64_t w,
                                         float* loss, float* d_ab) {
  return guarded([&] {
    Model& m = model_of(model);
    if (!loss) fail(MOTIF_ERR_INVALID_ARGUMENT, "loss output is NULL");
    checked_count({2, n, c, h, w});
    on_engine([&] {
      LossResult r = m.train_pairs(a, b, labels, n, c, h, w);
      copy_out(r.loss, loss);
      copy_out(r.d_ab, d_ab);
    });
  });
}

namespace {
torch::Tensor rows(const float* p, int64_t n, int64_t dim, const char* what) {
  if (!p) fail(MOTIF_ERR_INVALID_ARGUMENT, std::string(what) + " is NULL");
  return torch::from_blob(const_cast<float*>(p), {n, dim}, torch::kFloat);
}
void check_rows(int64_t n, int64_t dim, const motif_train_options* opts, float* loss) {
  if (!opts || !loss) fail(MOTIF_ERR_INVALID_ARGUMENT, "options or loss output is NULL");
  if (n < 1 || dim < 1) fail(MOTIF_ERR_INVALID_ARGUMENT, "n and dim must be >= 1");
  checked_count({3, n, dim});
}
}  // namespace

MOTIF_API int32_t motif_loss_triplets(const float* ea, const float* eb, const float* ec, int64_t n, int64_t dim,
                                      const motif_train_options* opts, float* loss, float* d_ab, float* d_ac,
                                      float* d_bc) {
  return guarded([&] {
    check_rows(n, dim, opts, loss);
    on_engine([&] {
      validate_options(*opts, false);
      c10::InferenceMode guard;
      LossResult r = triplet_loss(rows(ea, n, dim, "ea"), rows(eb, n, dim, "eb"), rows(ec, n, dim, "ec"), *opts);
      copy_out(r.loss, loss);
      copy_out(r.d_ab, d_ab);
      copy_out(r.d_ac, d_ac);
      copy_out(r.d_bc, d_bc);
    });
  });
}

MOTIF_API int32_t motif_loss_pairs(const float* ea, const float* eb, const float* labels, int64_t n, int64_t dim,
                                   const motif_train_options* opts, float* loss, float* d_ab) {
  return guarded([&] {
    check_rows(n, dim, opts, loss);
    on_engine([&] {
      validate_options(*opts, true);
      c10::InferenceMode guard;
      LossResult r = pair_loss(rows(ea, n, dim, "ea"), rows(eb, n, dim, "eb"), rows(labels, n, 1, "labels").view({n}), *opts);
      copy_out(r.loss, loss);
      copy_out(r.d_ab, d_ab);
    });
  });
}

MOTIF_API int32_t motif_checkpoint_save(motif_model* model, const char* path, const char* user_metadata_json) {
  return guarded([&] {
    Model& m = model_of(model);
    std::string p = str_arg(path, "path"), u = user_metadata_json ? user_metadata_json : "";
    on_engine([&] { m.save(p, u); });
  });
}

MOTIF_API int32_t motif_checkpoint_load(motif_model* model, const char* path) {
  return guarded([&] {
    Model& m = model_of(model);
    std::string p = str_arg(path, "path");
    on_engine([&] { m.load(p); });
  });
}

MOTIF_API int32_t motif_checkpoint_metadata(const char* path, char* buf, int64_t buf_len, int64_t* needed) {
  return guarded([&] {
    std::string p = str_arg(path, "path");
    put_string(on_engine([&] { return Model::read_metadata(p); }), buf, buf_len, needed);
  });
}

}  // extern "C"
