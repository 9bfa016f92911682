/* MindSpore .ckpt reader (spec §7.1): a protobuf stream of Checkpoint{ repeated Value{ tag, TensorProto{ dims,
 * tensor_type, tensor_content } } }, decoded with taichu's own minimal wire-format parser (no protobuf
 * dependency). Handles:
 *   - consecutive records with the same tag (tensors > 512 MB are split): contents are concatenated;
 *   - packed and unpacked dims; dims [0] or empty = scalar;
 *   - dtype spellings "UInt8" and "Uint8" (MindSpore version differences);
 *   - non-numeric records ("str") are skipped and counted in tc_tensor_file.skipped.
 * Tensor data stays in the mmap (zero copy) unless it had to be concatenated. Orientation is kept as
 * stored: the checkpoint's names and shapes are the native ones (spec §7.3). */
#ifndef TC_IO_MINDSPORE_CKPT_H
#define TC_IO_MINDSPORE_CKPT_H

#include "io/tensor_file.h"

int tc_ckpt_open(const char *path, tc_tensor_file *out);
int tc_ckpt_parse(const void *buf, size_t len, const char *name, tc_tensor_file *out);

/* The pretrained checkpoint stores three tied tensors under the name of the last module that adopted them
 * (spec §7.2). Adds the canonical name as an alias of the stored one when the canonical name is absent:
 *   cls.predictions.decoder.weight -> uniter.embeddings.word_embeddings.embedding_table
 *   feat_regress.weight            -> uniter.img_embeddings.img_linear.weight
 *   audio_feat_regress.weight      -> uniter.audio_embeddings.audio_linear.weight
 * and the ViT position table's possible stored name (spec §7.3, MED):
 *   uniter.img_embeddings.vit.pos_embedding -> uniter.img_embeddings.vit.encoder_pos_embedding
 * Returns the number of aliases added. */
int tc_ckpt_resolve_aliases(tc_tensor_file *f);

/* Writer for the same format (used by the PyTorch-twin golden tests and round trips): one Value per tensor,
 * every tensor Float32. Atomic. */
int tc_ckpt_write_f32(const char *path, const char *const *names, const float *const *data, const int *ndims,
                      const int64_t *const *shapes, int n);

#endif
