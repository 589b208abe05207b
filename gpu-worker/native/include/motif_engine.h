/*
 * motif_engine.h — C ABI of Motif's signature engine (libmotif_engine.so, C++17 over libtorch).
 *
 * Designed for P/Invoke (Motif.Engine):
 *   - only C types: opaque handle pointers, int32_t/int64_t/uint64_t/double/float, UTF-8 char*;
 *   - every function returns an int32_t status (MOTIF_OK = 0) except motif_abi_version and
 *     motif_last_error; motif_last_error() returns the message of the last call made by the
 *     CALLING thread ("" after a success; UTF-8, owned by the library, valid until that
 *     thread's next call). No C++ exception ever crosses this boundary.
 *   - tensors are caller-owned float32 buffers with explicit dimensions / element counts;
 *     images are NCHW, contiguous, already preprocessed as described by motif_model_info().
 *   - strings returned by the library use the (buf, buf_len, needed) pattern: the library
 *     writes a NUL-terminated string if buf_len >= needed, else returns
 *     MOTIF_ERR_BUFFER_TOO_SMALL; *needed (bytes, including the NUL) is always set.
 *
 * Threading: all torch work runs on ONE engine thread owned by the library (an OpenMP team
 * belongs to the thread that creates it, so calls from many .NET pool threads would otherwise
 * each spawn a team and oversubscribe the cores). Every function may be called from any
 * thread; calls are serialised on the engine thread, the caller blocks until done.
 *
 * Suggested C# signatures (DllImport "motif_engine"):
 *   int motif_model_create(string arch, string device, out IntPtr model);   // UTF-8 marshalling
 *   int motif_embed(IntPtr m, float* x, long n, long c, long h, long w,
 *                   float* emb, long embLen, float* logits, long logitsLen);
 *   motif_train_options <-> [StructLayout(LayoutKind.Sequential)] struct of 4 doubles + 8 ints.
 */
#ifndef MOTIF_ENGINE_H
#define MOTIF_ENGINE_H

#include <stdint.h>

#if defined(_WIN32)
#  if defined(MOTIF_BUILDING)
#    define MOTIF_API __declspec(dllexport)
#  else
#    define MOTIF_API __declspec(dllimport)
#  endif
#else
#  define MOTIF_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define MOTIF_ABI_VERSION 3

/* ---- status codes ------------------------------------------------------------------- */
enum motif_status {
  MOTIF_OK = 0,
  MOTIF_ERR_INVALID_ARGUMENT = 1, /* null pointer, bad dimension, unknown architecture, ... */
  MOTIF_ERR_IO = 2,               /* file absent / unreadable / unwritable                  */
  MOTIF_ERR_FORMAT = 3,           /* file present but corrupt or not the expected format    */
  MOTIF_ERR_MISMATCH = 4,         /* weights/checkpoint do not fit the model's architecture  */
  MOTIF_ERR_STATE = 5,            /* call not valid now (e.g. train step before configure)   */
  MOTIF_ERR_BUFFER_TOO_SMALL = 6, /* output buffer shorter than required                     */
  MOTIF_ERR_OUT_OF_MEMORY = 7,
  MOTIF_ERR_RUNTIME = 8,          /* error raised inside libtorch (message says which)       */
  MOTIF_ERR_INTERNAL = 9          /* anything else (a bug)                                   */
};

/* ---- options ------------------------------------------------------------------------- */
enum motif_loss {
  /* EPFL replica "compound hinge" (SEEDS.md): per triplet
   *   max(0, m + d(A,B) - dneg + [intra] max(0, d(A,B) - m2)),
   *   dneg = [anchor_swap] ? min(d(A,C), d(B,C)) : d(A,C)                                  */
  MOTIF_LOSS_COMPOUND_HINGE = 0,
  /* plain triplet margin loss max(0, m + d(A,B) - dneg) (torch.nn.TripletMarginLoss
   * semantics, including its optional swap); intra_penalty must be 0                      */
  MOTIF_LOSS_TRIPLET_MARGIN = 1,
  /* contrastive loss on pairs (Hadsell et al. 2006): y d^2 + (1-y) max(0, m - d)^2,
   * y = 1 for "same", 0 for "different"; only with motif_train_step_pairs / motif_loss_pairs */
  MOTIF_LOSS_CONTRASTIVE = 2
};
enum motif_distance {
  MOTIF_DISTANCE_COSINE = 0,    /* d = 1 - cos(a, b)                                          */
  MOTIF_DISTANCE_EUCLIDEAN = 1  /* d = ||a - b + 1e-6||_2 (torch.pairwise_distance defaults)  */
};
enum motif_reduction { MOTIF_REDUCTION_SUM = 0, MOTIF_REDUCTION_MEAN = 1 };
enum motif_bn_mode {
  MOTIF_BN_TRAIN = 0,         /* BatchNorm in training mode: batch statistics, running stats update */
  MOTIF_BN_FROZEN_STATS = 1,  /* eval-mode BN (running stats used, never updated), affine trainable */
  MOTIF_BN_FROZEN = 2         /* eval-mode BN and gamma/beta frozen too                             */
};
enum motif_precision {
  MOTIF_PRECISION_FP32 = 0,  /* float32 everywhere                                                    */
  MOTIF_PRECISION_BF16 = 1   /* autocast to bfloat16 (convolutions, matmuls); pooling, norm, loss fp32 */
};
enum motif_init_scheme {
  MOTIF_INIT_RANDOM = 0,       /* torchvision's initialisation, seeded                     */
  MOTIF_INIT_TEST_PATTERN = 1  /* closed-form deterministic values (golden tests; seed unused),
                                  identical to tests/golden/engine/make_golden.py             */
};

/* Training options (64 bytes, no implicit padding). motif_train_options_default() gives the
 * SEEDS.md recipe: compound hinge, cosine, sum, swap on, intra on, m 0.01, m2 0.1,
 * Adam lr 1e-6, weight decay 1e-4, BN frozen statistics, no frozen stage.               */
typedef struct motif_train_options {
  double margin;          /* m                                                           */
  double margin2;         /* m2 (intra-sample penalty threshold)                         */
  double learning_rate;   /* Adam lr                                                     */
  double weight_decay;    /* Adam weight decay (L2 added to the gradient, as torch.optim.Adam) */
  int32_t loss;           /* enum motif_loss                                             */
  int32_t distance;       /* enum motif_distance                                         */
  int32_t reduction;      /* enum motif_reduction                                        */
  int32_t anchor_swap;    /* 0/1                                                         */
  int32_t intra_penalty;  /* 0/1 (compound hinge only)                                   */
  int32_t bn_mode;        /* enum motif_bn_mode                                          */
  int32_t freeze_stages;  /* 0 none; k>0 freezes stem (k>=1) and layer1..layer(k-1); max 5 */
  int32_t reserved;       /* must be 0                                                   */
} motif_train_options;

typedef struct motif_model motif_model; /* opaque */

/* ---- library ------------------------------------------------------------------------- */
MOTIF_API int32_t motif_abi_version(void);
MOTIF_API const char* motif_last_error(void);
/* Intra-op threads of the engine thread (torch::set_num_threads). Default: env
 * MOTIF_NUM_THREADS, else the number of online CPUs. */
MOTIF_API int32_t motif_set_num_threads(int32_t n);
MOTIF_API int32_t motif_get_num_threads(int32_t* out);
MOTIF_API int32_t motif_train_options_default(motif_train_options* out);

/* ---- models --------------------------------------------------------------------------- */
/* arch: "resnet50" | "resnet101" | "resnet152" | "resnext50_32x4d" | "resnext101_32x8d" |
 *       "keras_resnet50" (Keras ResNet-50 v1, the packaged pretrained weights),
 *       optionally followed by ":key=value;..." overrides, or a family with parameters:
 *       "torchvision:layers=1-1-1-1;base=16;groups=1;width_per_group=64;classes=10"
 *       "keras:layers=...;bn_eps=0.001"  (classes=0 drops the classifier head).
 * device: "cpu" (or NULL), "cuda", "cuda:N". Weights start with MOTIF_INIT_RANDOM seed 0. */
MOTIF_API int32_t motif_model_create(const char* arch, const char* device, motif_model** out);
MOTIF_API int32_t motif_model_destroy(motif_model* model); /* NULL is accepted */
MOTIF_API int32_t motif_model_init(motif_model* model, int32_t scheme, uint64_t seed);
/* Pretrained weights: a TF.js layers-model (path ends in .json; shards beside it) or a
 * torchvision state dict saved as torch.save(dict(model.state_dict()), path). Tensors are
 * matched by name; missing / unexpected / shape-mismatched keys give MOTIF_ERR_MISMATCH with
 * the list. "fc.*" keys are ignored when the model has no head (classes=0). */
MOTIF_API int32_t motif_model_load_weights(motif_model* model, const char* path);
/* JSON: {"architecture","family","embedding_dim","num_classes","device","step",
 *        "preprocessing":{"color_order","pixel_scale","mean","std","layout"}}; network input is
 *        x[c] = (pixel[c] scaled to [0, pixel_scale] - mean[c]) / std[c], channels in color_order. */
MOTIF_API int32_t motif_model_info(motif_model* model, char* buf, int64_t buf_len, int64_t* needed);
MOTIF_API int32_t motif_model_dims(motif_model* model, int64_t* embedding_dim, int64_t* num_classes);
/* Numeric precision (enum motif_precision) and memory format (channels_last 0/1: NHWC convolution
 * weights and inputs, which tensor cores and oneDNN prefer) of embedding and training. Defaults:
 * bf16 + channels-last on CUDA, fp32 + contiguous on CPU. Weights stay fp32 (master copy); only
 * the forward computation is autocast. Reported by motif_model_info as "precision" and
 * "channels_last". */
MOTIF_API int32_t motif_model_set_precision(motif_model* model, int32_t precision, int32_t channels_last);
/* Global pooling of the last conv block (ABI 2): the generalized mean (GeM) with exponent power in [1, 16],
 * (mean over positions of x^power)^(1/power) per channel (Radenović, Tolias & Chum, TPAMI 2019, §3.1). 1, the
 * default, is the global mean pooling, unchanged to the bit; larger powers weigh the strongest activations more
 * (max pooling in the limit). Applies to embedding and training; reported by motif_model_info as
 * "pooling_power", saved in checkpoints and restored by motif_checkpoint_load (a checkpoint without it: 1). */
MOTIF_API int32_t motif_model_set_pooling(motif_model* model, double power);
/* The centre detail (ABI 3): with fraction in [0.1, 1), the signature is the L2-normalised sum of the unit
 * signature of the whole input and that of its centred window of fraction × each side, resized back to the input's
 * size (bilinear): the network also sees the input at the scale of a reproduction of a detail. 0, the default, is
 * the whole input only, unchanged to the bit. Applies to embedding and training (logits stay the whole input's);
 * reported by motif_model_info as "detail_view", saved in checkpoints and restored by motif_checkpoint_load (a
 * checkpoint without it: 0). */
MOTIF_API int32_t motif_model_set_detail_view(motif_model* model, double fraction);

/* Copy of one parameter or buffer (torchvision state_dict key, e.g. "layer1.0.bn1.running_mean")
 * as float32 into buf (may be NULL to query). *numel receives its element count; shape (NULL or
 * 8 int64) and ndim (NULL or 1 int32) its shape. For inspection and tests. */
MOTIF_API int32_t motif_model_tensor(motif_model* model, const char* name, float* buf, int64_t buf_len,
                                     int64_t* numel, int64_t* shape, int32_t* ndim);

/* Embedding: backbone to the last conv -> global pool (mean, or GeM: motif_model_set_pooling) -> per-image L2 norm
 * (with motif_model_set_detail_view, of the whole input and of its centre detail, summed and normalised again).
 * x: n*c*h*w floats (NCHW). emb: n*embedding_dim floats. logits: NULL, or n*num_classes
 * floats (pre-softmax classifier output; needs a head). Lengths are element counts. */
MOTIF_API int32_t motif_embed(motif_model* model, const float* x, int64_t n, int64_t c,
                              int64_t h, int64_t w, float* emb, int64_t emb_len,
                              float* logits, int64_t logits_len);

/* ---- training ------------------------------------------------------------------------ */
/* (Re)configure loss, optimiser and freezing. The Adam state is kept when called again
 * (lr / weight decay of the existing optimiser are updated). */
MOTIF_API int32_t motif_train_configure(motif_model* model, const motif_train_options* opts);
/* One Adam step on n triplets (A_i, B_i positive pair, C_i negative), each n*c*h*w floats.
 * loss: 1 float. d_ab, d_ac, d_bc: NULL or n floats; distances of this forward pass
 * (before the update), in the configured distance. */
MOTIF_API int32_t motif_train_step(motif_model* model, const float* a, const float* b,
                                   const float* c_neg, int64_t n, int64_t c, int64_t h,
                                   int64_t w, float* loss, float* d_ab, float* d_ac,
                                   float* d_bc);
/* One Adam step on n pairs with labels (1 = same, 0 = different); contrastive loss only. */
MOTIF_API int32_t motif_train_step_pairs(motif_model* model, const float* a, const float* b,
                                         const float* labels, int64_t n, int64_t c, int64_t h,
                                         int64_t w, float* loss, float* d_ab);
/* The same losses on given embeddings (n x dim each; need not be normalised) — for
 * validation loss on stored signatures. Does not touch any model. */
MOTIF_API int32_t motif_loss_triplets(const float* ea, const float* eb, const float* ec,
                                      int64_t n, int64_t dim, const motif_train_options* opts,
                                      float* loss, float* d_ab, float* d_ac, float* d_bc);
MOTIF_API int32_t motif_loss_pairs(const float* ea, const float* eb, const float* labels,
                                   int64_t n, int64_t dim, const motif_train_options* opts,
                                   float* loss, float* d_ab);

/* ---- checkpoints --------------------------------------------------------------------- */
/* Weights + buffers + Adam state (if configured) + metadata JSON {format, architecture,
 * family, embedding_dim, preprocessing, step, content_hash (sha256 of the weights),
 * train_options, user}. user_metadata_json: NULL or a JSON object chosen by the caller
 * (e.g. {"parent_version":"...","input_size":320}); it is stored verbatim under "user". */
MOTIF_API int32_t motif_checkpoint_save(motif_model* model, const char* path,
                                        const char* user_metadata_json);
/* Restores weights, step and optimiser state (bit-exact resume on CPU). The checkpoint's
 * architecture must equal the model's (MOTIF_ERR_MISMATCH otherwise); the content hash is
 * verified (MOTIF_ERR_FORMAT on corruption). */
MOTIF_API int32_t motif_checkpoint_load(motif_model* model, const char* path);
/* Reads only the metadata JSON (e.g. to create the right architecture before loading). */
MOTIF_API int32_t motif_checkpoint_metadata(const char* path, char* buf, int64_t buf_len,
                                            int64_t* needed);

#ifdef __cplusplus
}
#endif
#endif /* MOTIF_ENGINE_H */
