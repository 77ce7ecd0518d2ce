/* msg_hash.c -- FNV-1a 64: see msg_hash.h. */
#include "msg_hash.h"

#define FNV_PRIME UINT64_C(1099511628211)

uint64_t msg_hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t msg_hash_str(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= FNV_PRIME;
    }
    return h;
}

uint64_t msg_hash_field(uint64_t h, const char *s)
{
    h = msg_hash_str(h, s);
    h ^= 0xffu; /* field separator */
    h *= FNV_PRIME;
    return h;
}

uint64_t msg_hash_of(const char *s)
{
    return msg_hash_str(MSG_HASH_INIT, s);
}

uint32_t msg_hash_fold32(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}
