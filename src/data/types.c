#include "data/types.h"

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
