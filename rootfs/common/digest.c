/* SHA-256 (FIPS 180-4) and XXH64 (Yann Collet's published algorithm, seed 0), streamed. */
#include "digest.h"
#include <stdio.h>
#include <string.h>

/* ---- SHA-256 ---- */
static const uint32_t K[64] = {
  0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
  0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
  0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
  0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
  0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
  0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
  0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
  0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha_block(struct sha256 *s, const uint8_t *p) {
  uint32_t w[64], a, b, c, d, e, f, g, h;
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4*i] << 24 | (uint32_t)p[4*i+1] << 16 | (uint32_t)p[4*i+2] << 8 | p[4*i+3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i-15], 7) ^ ROR(w[i-15], 18) ^ (w[i-15] >> 3);
    uint32_t s1 = ROR(w[i-2], 17) ^ ROR(w[i-2], 19) ^ (w[i-2] >> 10);
    w[i] = w[i-16] + s0 + w[i-7] + s1;
  }
  a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}
static void sha_init(struct sha256 *s) {
  static const uint32_t iv[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
  memcpy(s->h, iv, sizeof iv); s->len = 0; s->n = 0;
}
static void sha_update(struct sha256 *s, const uint8_t *p, size_t len) {
  s->len += len;
  if (s->n) {
    while (len && s->n < 64) { s->buf[s->n++] = *p++; len--; }
    if (s->n == 64) { sha_block(s, s->buf); s->n = 0; }
  }
  while (len >= 64) { sha_block(s, p); p += 64; len -= 64; }
  while (len) { s->buf[s->n++] = *p++; len--; }
}
static void sha_hex(struct sha256 *s, char out[65]) {
  uint64_t bits = s->len * 8;
  uint8_t pad = 0x80, zero = 0, lenbuf[8];
  sha_update(s, &pad, 1);
  while (s->n != 56) sha_update(s, &zero, 1);
  for (int i = 0; i < 8; i++) lenbuf[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, lenbuf, 8);
  for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- XXH64 ---- */
#define XP1 0x9E3779B185EBCA87ULL
#define XP2 0xC2B2AE3D27D4EB4FULL
#define XP3 0x165667B19E3779F9ULL
#define XP4 0x85EBCA77C2B2AE63ULL
#define XP5 0x27D4EB2F165667C5ULL
static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
/* the guest is x86-64, little-endian like the digest: a plain load is the value */
static uint64_t le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t xx_round(uint64_t acc, uint64_t in) { acc += in * XP2; acc = rotl64(acc, 31); return acc * XP1; }
static uint64_t xx_merge(uint64_t h, uint64_t v) { h ^= xx_round(0, v); return h * XP1 + XP4; }
static void xx_init(struct xxh64 *x) {
  x->v[0] = XP1 + XP2; x->v[1] = XP2; x->v[2] = 0; x->v[3] = (uint64_t)0 - XP1;
  x->len = 0; x->n = 0;
}
static void xx_stripe(struct xxh64 *x, const uint8_t *p) {
  for (int i = 0; i < 4; i++) x->v[i] = xx_round(x->v[i], le64(p + 8 * i));
}
static void xx_update(struct xxh64 *x, const uint8_t *p, size_t len) {
  x->len += len;
  if (x->n) {
    while (len && x->n < 32) { x->buf[x->n++] = *p++; len--; }
    if (x->n == 32) { xx_stripe(x, x->buf); x->n = 0; }
  }
  while (len >= 32) { xx_stripe(x, p); p += 32; len -= 32; }
  while (len) { x->buf[x->n++] = *p++; len--; }
}
static void xx_hex(struct xxh64 *x, char out[17]) {
  uint64_t h;
  if (x->len >= 32) {
    h = rotl64(x->v[0], 1) + rotl64(x->v[1], 7) + rotl64(x->v[2], 12) + rotl64(x->v[3], 18);
    for (int i = 0; i < 4; i++) h = xx_merge(h, x->v[i]);
  } else {
    h = XP5;
  }
  h += x->len;
  const uint8_t *p = x->buf;
  size_t n = x->n;
  for (; n >= 8; p += 8, n -= 8) h = rotl64(h ^ xx_round(0, le64(p)), 27) * XP1 + XP4;
  if (n >= 4) { h = rotl64(h ^ (uint64_t)le32(p) * XP1, 23) * XP2 + XP3; p += 4; n -= 4; }
  for (; n; p++, n--) h = rotl64(h ^ *p * XP5, 11) * XP1;
  h ^= h >> 33; h *= XP2; h ^= h >> 29; h *= XP3; h ^= h >> 32;
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- either ---- */
const char *digest_name(enum digest_kind k) { return k == DIGEST_SHA256 ? "sha256" : "xxh64"; }

void digest_init(struct digest *d, enum digest_kind k) {
  d->kind = k;
  if (k == DIGEST_SHA256) sha_init(&d->u.sha);
  else if (k == DIGEST_XXH64) xx_init(&d->u.xx);
}

void digest_update(struct digest *d, const uint8_t *p, size_t len) {
  if (d->kind == DIGEST_SHA256) sha_update(&d->u.sha, p, len);
  else if (d->kind == DIGEST_XXH64) xx_update(&d->u.xx, p, len);
}

void digest_hex(struct digest *d, char out[DIGEST_HEX]) {
  out[0] = 0;
  if (d->kind == DIGEST_SHA256) sha_hex(&d->u.sha, out);
  else if (d->kind == DIGEST_XXH64) xx_hex(&d->u.xx, out);
}

void digest_of(enum digest_kind k, const uint8_t *p, size_t len, char out[DIGEST_HEX]) {
  struct digest d;
  digest_init(&d, k);
  digest_update(&d, p, len);
  digest_hex(&d, out);
}
