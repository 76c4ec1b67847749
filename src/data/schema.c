#include "data/schema.h"

#include <stdlib.h>
#include <string.h>

/* Names are found by a linear scan up to INDEX_FROM columns, then through
 * an open-addressing index of column positions + 1 (0: empty slot), twice
 * as many slots as columns at least, keyed by a case-folded hash: adding n
 * columns stays O(n) (a SELECT of 100,000 columns). */
#define INDEX_FROM 16

struct tide_schema {
    tide_column *cols;
    size_t ncols, cap;
    int time_col;
    uint32_t *index; /* NULL below INDEX_FROM columns */
    size_t islots;   /* a power of two */
};

int tide_schema_create(tide_schema **out, tide_err *e)
{
    tide_schema *s = calloc(1, sizeof *s);
    if (!s)
        return tide_err_set(e, TIDE_ENOMEM, "schema: out of memory");
    s->time_col = -1;
    *out = s;
    return 0;
}

void tide_schema_free(tide_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncols; i++)
        free((char *)s->cols[i].name);
    free(s->cols);
    free(s->index);
    free(s);
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return true;
}

static uint64_t name_hash(const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the lower-cased bytes */
    for (size_t i = 0; i < len; i++)
        h = (h ^ lower((unsigned char)name[i])) * 1099511628211ull;
    return h ^ (h >> 29);
}

int tide_schema_find(const tide_schema *s, const char *name, size_t len)
{
    if (!s->index) {
        for (size_t i = 0; i < s->ncols; i++)
            if (name_eq(s->cols[i].name, s->cols[i].name_len, name, len))
                return (int)i;
        return -1;
    }
    size_t mask = s->islots - 1;
    for (size_t k = (size_t)name_hash(name, len) & mask;; k = (k + 1) & mask) {
        uint32_t v = s->index[k];
        if (v == 0)
            return -1;
        const tide_column *c = &s->cols[v - 1];
        if (name_eq(c->name, c->name_len, name, len))
            return (int)(v - 1);
    }
}

static void index_put(uint32_t *index, size_t slots, const tide_column *c, uint32_t pos)
{
    size_t mask = slots - 1, k = (size_t)name_hash(c->name, c->name_len) & mask;
    while (index[k])
        k = (k + 1) & mask;
    index[k] = pos + 1;
}

/* Keep the index with room for one more column (built at INDEX_FROM). */
static int index_reserve(tide_schema *s)
{
    if (s->ncols + 1 < INDEX_FROM || (s->index && 2 * (s->ncols + 1) <= s->islots))
        return 0;
    size_t slots = s->islots ? 2 * s->islots : 4 * INDEX_FROM;
    while (2 * (s->ncols + 1) > slots)
        slots *= 2;
    uint32_t *ix = calloc(slots, sizeof *ix);
    if (!ix)
        return TIDE_ENOMEM;
    for (size_t i = 0; i < s->ncols; i++)
        index_put(ix, slots, &s->cols[i], (uint32_t)i);
    free(s->index);
    s->index = ix;
    s->islots = slots;
    return 0;
}

int tide_schema_add_n(tide_schema *s, const char *name, size_t name_len, tide_type type, bool nullable,
                      tide_err *e)
{
    if (name_len == 0 || name_len > 1024)
        return tide_err_set(e, TIDE_EINVAL, "schema: column name must be 1-1024 bytes");
    if (!tide_type_valid(type))
        return tide_err_set(e, TIDE_EINVAL, "schema: column %.*s: bad type %d", (int)name_len, name,
                            (int)type);
    if (tide_schema_find(s, name, name_len) >= 0)
        return tide_err_set(e, TIDE_EEXIST, "schema: duplicate column %.*s", (int)name_len, name);
    if (s->ncols >= UINT32_MAX - 1 || index_reserve(s) != 0)
        goto nomem;
    if (s->ncols == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        tide_column *c = realloc(s->cols, cap * sizeof *c);
        if (!c)
            goto nomem;
        s->cols = c;
        s->cap = cap;
    }
    char *copy = malloc(name_len + 1);
    if (!copy)
        goto nomem;
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    s->cols[s->ncols] = (tide_column){copy, (uint32_t)name_len, type, nullable};
    if (s->index)
        index_put(s->index, s->islots, &s->cols[s->ncols], (uint32_t)s->ncols);
    s->ncols++;
    return 0;
nomem:
    return tide_err_set(e, TIDE_ENOMEM, "schema: out of memory adding column %.*s", (int)name_len, name);
}

int tide_schema_add(tide_schema *s, const char *name, tide_type type, bool nullable, tide_err *e)
{
    return tide_schema_add_n(s, name, strlen(name), type, nullable, e);
}

int tide_schema_set_time_column(tide_schema *s, int index, tide_err *e)
{
    if (index < -1 || index >= (int)s->ncols)
        return tide_err_set(e, TIDE_EINVAL, "schema: no column %d", index);
    if (index >= 0 && s->cols[index].type != TIDE_TYPE_TIMESTAMP)
        return tide_err_set(e, TIDE_EINVAL, "schema: event-time column %s is %s, not TIMESTAMP(3)",
                            s->cols[index].name, tide_type_name(s->cols[index].type));
    s->time_col = index;
    return 0;
}

int tide_schema_time_column(const tide_schema *s) { return s->time_col; }
size_t tide_schema_ncols(const tide_schema *s) { return s->ncols; }
const tide_column *tide_schema_col(const tide_schema *s, size_t i) { return &s->cols[i]; }

int tide_schema_clone(const tide_schema *s, tide_schema **out, tide_err *e)
{
    tide_schema *c = NULL;
    int rc = tide_schema_create(&c, e);
    if (rc)
        goto fail;
    for (size_t i = 0; i < s->ncols; i++) {
        rc = tide_schema_add_n(c, s->cols[i].name, s->cols[i].name_len, s->cols[i].type,
                               s->cols[i].nullable, e);
        if (rc)
            goto fail;
    }
    c->time_col = s->time_col;
    *out = c;
    return 0;
fail:
    tide_schema_free(c);
    return rc;
}

bool tide_schema_equal(const tide_schema *a, const tide_schema *b)
{
    if (a->ncols != b->ncols || a->time_col != b->time_col)
        return false;
    for (size_t i = 0; i < a->ncols; i++) {
        const tide_column *x = &a->cols[i], *y = &b->cols[i];
        if (x->type != y->type || x->nullable != y->nullable ||
            !name_eq(x->name, x->name_len, y->name, y->name_len))
            return false;
    }
    return true;
}
