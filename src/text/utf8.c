#include "text/unicode.h"

unsigned vkq_cpt_flags(uint32_t cpt)
{
    unsigned lo = 0, hi = vkq_cpt_range_count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (cpt < vkq_cpt_ranges[mid].first)
            hi = mid;
        else if (cpt > vkq_cpt_ranges[mid].last)
            lo = mid + 1;
        else
            return vkq_cpt_ranges[mid].flags;
    }
    return 0;
}

size_t vkq_utf8_lead_len(unsigned char c)
{
    static const unsigned char len_by_top4[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len_by_top4[c >> 4];
}

uint32_t vkq_utf8_decode(const unsigned char *s, size_t len, size_t *pos)
{
    size_t i = *pos;
    unsigned c = s[i];
    size_t n;
    uint32_t cpt;
    if (c < 0x80) {
        *pos = i + 1;
        return c;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cpt = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cpt = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cpt = c & 0x07;
    } else {
        *pos = i + 1;
        return VKQ_CPT_REPLACEMENT;
    }
    if (len - i < n) {
        *pos = i + 1;
        return VKQ_CPT_REPLACEMENT;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            *pos = i + 1;
            return VKQ_CPT_REPLACEMENT;
        }
        cpt = (cpt << 6) | (s[i + k] & 0x3F);
    }
    *pos = i + n;
    return cpt;
}

size_t vkq_utf8_encode(uint32_t cpt, char *out)
{
    if (cpt > 0x10FFFF) cpt = VKQ_CPT_REPLACEMENT;
    if (cpt < 0x80) {
        out[0] = (char)cpt;
        return 1;
    }
    if (cpt < 0x800) {
        out[0] = (char)(0xC0 | (cpt >> 6));
        out[1] = (char)(0x80 | (cpt & 0x3F));
        return 2;
    }
    if (cpt < 0x10000) {
        out[0] = (char)(0xE0 | (cpt >> 12));
        out[1] = (char)(0x80 | ((cpt >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cpt & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cpt >> 18));
    out[1] = (char)(0x80 | ((cpt >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cpt >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cpt & 0x3F));
    return 4;
}

int vkq_utf8_valid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        size_t at = i;
        uint32_t cpt = vkq_utf8_decode(s, len, &i);
        size_t n = i - at;
        if (cpt == VKQ_CPT_REPLACEMENT && n == 1 && s[at] >= 0x80) return 0;
        if ((n == 2 && cpt < 0x80) || (n == 3 && cpt < 0x800) || (n == 4 && cpt < 0x10000) ||
            cpt > 0x10FFFF || (cpt >= 0xD800 && cpt <= 0xDFFF))
            return 0;
    }
    return 1;
}
