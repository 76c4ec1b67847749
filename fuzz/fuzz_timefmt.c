/* libFuzzer target for data/timefmt: parsing any text must not crash; a
 * parsed value must format and parse back to itself, and flooring must give
 * a start <= the value that is its own floor. */
#include "data/timefmt.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t v;
    tide_ts_error err;
    if (tide_ts_parse((const char *)data, size, &v, &err) != 0) {
        if (!err.reason || err.column < 1 || err.column > size + 1)
            abort();
        return 0;
    }
    char buf[TIDE_TS_FORMAT_MAX];
    size_t n = tide_ts_format(v, buf);
    if (n >= TIDE_TS_FORMAT_MAX || strlen(buf) != n)
        abort();
    int64_t back;
    if (tide_ts_parse(buf, n, &back, NULL) != 0 || back != v)
        abort();
    for (int u = 0; u < TIDE_TS_UNIT_COUNT; u++) {
        int64_t f = tide_ts_floor(v, (tide_ts_unit)u);
        if (f > v || tide_ts_floor(f, (tide_ts_unit)u) != f)
            abort();
    }
    return 0;
}
