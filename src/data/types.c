#include "data/types.h"

#include "tide.h"

const char *tide_type_name(tide_type t)
{
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
