/* libFuzzer target for data/csv: lex the input as one buffer and again
 * streamed in small blocks; both must agree record for record, spans must
 * lie inside the input, and lexing must always make progress. */
#include "data/csv.h"

#include <stdlib.h>
#include <string.h>

#define MAX_RECS 4096

typedef struct seen {
    size_t nfields, raw_len;
    uint64_t line;
    int rc;
} seen;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static seen whole[MAX_RECS];
    const char *buf = (const char *)data;
    size_t n = 0, pos = 0;
    tide_csv c;
    tide_csv_init(&c, "fuzz", ',');
    for (;;) {
        tide_csv_record r;
        tide_err e = {0};
        size_t before = pos;
        int rc = tide_csv_next(&c, buf, size, &pos, true, &r, &e);
        if (rc == 0)
            break;
        if (rc != 1 && rc != TIDE_EPARSE)
            abort();
        if (pos <= before || pos > size)
            abort(); /* no progress, or past the end */
        if (rc == 1) {
            if (r.raw < buf || r.raw + r.raw_len > buf + size || r.nfields < 1)
                abort();
            for (size_t i = 0; i < r.nfields; i++)
                if (r.fields[i].len > r.raw_len || r.fields[i].raw_off > r.raw_len)
                    abort();
        }
        if (n < MAX_RECS)
            whole[n++] = (seen){rc == 1 ? r.nfields : 0, rc == 1 ? r.raw_len : 0, rc == 1 ? r.line : 0, rc};
    }
    tide_csv_free(&c);

    /* streamed in blocks of 7 bytes through a sliding window */
    char *win = malloc(size + 1);
    size_t have = 0, fed = 0, k = 0;
    pos = 0;
    tide_csv_init(&c, "fuzz", ',');
    for (;;) {
        tide_csv_record r;
        tide_err e = {0};
        int rc = tide_csv_next(&c, win, have, &pos, fed == size, &r, &e);
        if (rc == 0)
            break;
        if (rc == TIDE_EAGAIN) {
            if (fed == size)
                abort();
            memmove(win, win + pos, have - pos);
            have -= pos;
            pos = 0;
            size_t chunk = size - fed < 7 ? size - fed : 7;
            memcpy(win + have, buf + fed, chunk);
            have += chunk;
            fed += chunk;
            continue;
        }
        if (k < n) {
            const seen *w = &whole[k];
            if (w->rc != rc || (rc == 1 && (w->nfields != r.nfields || w->raw_len != r.raw_len || w->line != r.line)))
                abort(); /* streaming must not change the result */
        }
        k++;
    }
    if (k != n && n < MAX_RECS)
        abort();
    tide_csv_free(&c);
    free(win);
    return 0;
}
