/*
 * The operators of the zoo models, f32 activations in CHW order, weights read through a page cursor.
 * No allocation: every buffer is the caller's (the activation arena). `out` never aliases `in` except
 * for the element-wise activations, which work in place.
 */
#ifndef WSEP_KERNELS_H
#define WSEP_KERNELS_H
#include "blob.h"
#include "pages.h"

void wsep_conv2d(const wsep_layer_t *l, const wsep_pages_t *w, const float *in, float *out);
void wsep_gemm(const wsep_layer_t *l, const wsep_pages_t *w, const float *in, float *out);
void wsep_maxpool(const wsep_layer_t *l, const float *in, float *out);
void wsep_relu(float *x, uint32_t n);
void wsep_leaky_relu(float *x, uint32_t n, float alpha);
/* Index of the first largest value (ties go to the lower index, as the host runtime's argmax). */
uint32_t wsep_argmax(const float *x, uint32_t n);
#endif
