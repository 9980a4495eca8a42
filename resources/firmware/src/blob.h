/*
 * The three blob formats the firmware reads (README.md, "Blobs"). Every blob starts with the same four
 * words: magic, version, total bytes, CRC-32 of bytes [16, total). All fields are little-endian uint32,
 * all offsets are from the start of their region, so the same bytes work at any load address (the host
 * test driver loads them into its own buffers).
 */
#ifndef WSEP_BLOB_H
#define WSEP_BLOB_H
#include <stdint.h>

#define WSEP_FRAM_MAGIC 0x31465357u /* "WSF1" */
#define WSEP_L2_MAGIC 0x324C5357u   /* "WSL2" */
#define WSEP_DESC_MAGIC 0x31445357u /* "WSD1" */
/* Version 2 added int8 pages (value type, scale tables); version-1 images are f32 and read as before.
 * Descriptors hold no values and stay at version 1. */
#define WSEP_BLOB_VERSION 2u
#define WSEP_BLOB_VERSION_F32_ONLY 1u
#define WSEP_DESC_VERSION 1u
/* Bytes a CRC skips: magic, version, total_bytes and the CRC itself. */
#define WSEP_CRC_SKIP 16u

#define WSEP_VALUE_F32 0u
/* int8 codes, one float32 scale per page: weight = (float)code x scale (docs/FORMAT.md section 11). */
#define WSEP_VALUE_I8 1u

/* Level 1 (FRAM): loaded at the FRAM base. The arena, exclusive buffer and descriptor buffer lie after
 * the blob, at offsets the exporter planned; the firmware checks them against the budget. */
typedef struct {
  uint32_t magic, version, total_bytes, crc32;
  uint32_t export_id;    /* first 4 bytes of the plan id: both blobs must carry the same */
  uint32_t budget_bytes; /* the profile's FRAM size */
  uint32_t page_size;    /* P, values per page */
  uint32_t value_type;   /* WSEP_VALUE_F32 or WSEP_VALUE_I8 */
  uint32_t shared_pages; /* M */
  uint32_t shared_off;   /* M x P values: f32, or int8 codes */
  uint32_t model_count;
  uint32_t tables_off; /* model_count x wsep_table_ref_t */
  uint32_t arena_off, arena_bytes;
  uint32_t excl_off, excl_bytes;
  uint32_t desc_off, desc_bytes;
  uint32_t scales_off; /* i8: M float32 scales, shared page i's at index i; f32: 0 */
  uint32_t reserved1;
} wsep_fram_header_t;

typedef struct {
  uint32_t off;     /* uint16 entries, from the FRAM base */
  uint32_t entries; /* N_k */
} wsep_table_ref_t;

/* Level 2 (flash storage): loaded at the storage base, read only through the storage driver. */
typedef struct {
  uint32_t magic, version, total_bytes, crc32;
  uint32_t export_id;
  uint32_t budget_bytes; /* the profile's storage size */
  uint32_t model_count;
  uint32_t dir_off;        /* model_count x wsep_l2_entry_t */
  uint32_t logits_samples; /* print the raw logits of this many samples per task (0: none) */
  uint32_t value_type;     /* version 2: the FRAM image's (version 1: 0, f32) */
  uint32_t reserved[2];
} wsep_l2_header_t;

#define WSEP_NAME_BYTES 32u
typedef struct {
  char name[WSEP_NAME_BYTES]; /* NUL-padded */
  uint32_t desc_off, desc_bytes;
  uint32_t excl_off, excl_bytes;  /* f32: E_k x P values; i8: E_k float32 scales, then E_k x P codes */
  uint32_t slice_off, slice_samples; /* f32 model input, samples x input values */
  uint32_t labels_off, reserved;  /* uint8 class per sample */
} wsep_l2_entry_t;

/* A model descriptor (in level 2, copied into the FRAM descriptor buffer at a switch). */
typedef struct {
  uint32_t magic, version, total_bytes, crc32;
  uint32_t weight_count, page_count, layer_count, classes;
  uint32_t in_c, in_h, in_w;
  uint32_t act_values; /* values of each of the two ping-pong activation buffers */
  uint32_t excl_pages;
  uint32_t macs; /* multiply-accumulates per inference, for the report */
  uint32_t reserved[2];
} wsep_desc_header_t;

enum { WSEP_OP_CONV2D = 1, WSEP_OP_GEMM = 2, WSEP_OP_MAXPOOL = 3, WSEP_OP_RELU = 4, WSEP_OP_LEAKYRELU = 5 };
#define WSEP_NO_BIAS 0xFFFFFFFFu
#define WSEP_MAX_KERNEL 16u

/* One layer. Shapes are CHW (a dense layer is C = features, H = W = 1). Weight offsets are indices into
 * the model's weight vector ("page space"); kernels reach them only through the page table. */
typedef struct {
  uint32_t op;
  uint32_t in_c, in_h, in_w, out_c, out_h, out_w;
  uint32_t k_h, k_w, stride_h, stride_w, pad_top, pad_left;
  uint32_t w_off, b_off; /* conv: W[out_c][in_c][k_h][k_w]; gemm: W[out_c][in_c] (transB=1) */
  uint32_t alpha_bits;   /* LeakyRelu alpha, f32 bits */
} wsep_layer_t;

#endif
