/*
 * Digests of what the guest agents read: XXH64 (seed 0), cheap enough to
 * check every file on every boot under TCG, or SHA-256 on request. The host
 * computes the same digests of its manifests and compares.
 */
#ifndef ESB_DIGEST_H
#define ESB_DIGEST_H
#include <stddef.h>
#include <stdint.h>

/* room for the longest digest in hex (sha256) and its NUL */
#define DIGEST_HEX 65

enum digest_kind { DIGEST_NONE, DIGEST_SHA256, DIGEST_XXH64 };

struct sha256 { uint32_t h[8]; uint64_t len; uint8_t buf[64]; size_t n; };
struct xxh64 { uint64_t v[4]; uint64_t len; uint8_t buf[32]; size_t n; };
struct digest {
  enum digest_kind kind;
  union { struct sha256 sha; struct xxh64 xx; } u;
};

/* the key a digest goes out under in a record: "sha256" or "xxh64" */
const char *digest_name(enum digest_kind k);
void digest_init(struct digest *d, enum digest_kind k);
void digest_update(struct digest *d, const uint8_t *p, size_t len);
/* the digest in lowercase hex ("" for DIGEST_NONE); d is used up */
void digest_hex(struct digest *d, char out[DIGEST_HEX]);
void digest_of(enum digest_kind k, const uint8_t *p, size_t len, char out[DIGEST_HEX]);
#endif
