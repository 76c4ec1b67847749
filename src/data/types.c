#include "data/types.h"

#include "tide.h"

#include <pthread.h>
#include <stdio.h>

/* "DECIMAL(p, s)" for every p and s, built once. */
static char dec_names[TIDE_DEC_MAX_PRECISION + 1][TIDE_DEC_MAX_PRECISION + 1][16];
static pthread_once_t dec_names_once = PTHREAD_ONCE_INIT;

static void dec_names_init(void)
{
    for (unsigned p = 1; p <= TIDE_DEC_MAX_PRECISION; p++)
        for (unsigned s = 0; s <= p; s++)
            snprintf(dec_names[p][s], sizeof dec_names[p][s], "DECIMAL(%u, %u)", p, s);
}

const char *tide_type_name(tide_type t)
{
    if (tide_type_is_decimal(t)) {
        if (!tide_type_valid(t))
            return "?";
        pthread_once(&dec_names_once, dec_names_init);
        return dec_names[tide_dec_precision(t)][tide_dec_scale(t)];
    }
    switch (t) {
#define TIDE__TYPE_NAME(name, sql) \
    case TIDE_TYPE_##name:         \
        return sql;
        TIDE_TYPE_MAP(TIDE__TYPE_NAME)
#undef TIDE__TYPE_NAME
    case TIDE_TYPE_COUNT:
        break;
    }
    return "?";
}

const char *tide_op_name(tide_op op)
{
    switch (op) {
#define TIDE__OP_NAME(name, s) \
    case TIDE_OP_##name:       \
        return s;
        TIDE_OP_MAP(TIDE__OP_NAME)
#undef TIDE__OP_NAME
    case TIDE_OP_COUNT:
        break;
    }
    return "?";
}

int tide_op_parse(const char *s, size_t len, tide_op *out)
{
    for (int op = 0; op < TIDE_OP_COUNT; op++) {
        const char *n = tide_op_name((tide_op)op);
        if (len == 2 && s[0] == n[0] && s[1] == n[1]) {
            *out = (tide_op)op;
            return 0;
        }
    }
    return TIDE_EINVAL;
}
