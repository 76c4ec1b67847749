/* test_schema.c - column lookup, validation, clone. */
#include "data/schema.h"
#include "tt.h"

static void test_build_and_find(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    TT_OK(tide_schema_create(&s, &e));
    TT_ASSERT_EQ_INT(tide_schema_time_column(s), -1);
    TT_OK(tide_schema_add(s, "ts", TIDE_TYPE_TIMESTAMP, false, &e));
    TT_OK(tide_schema_add(s, "User_Id", TIDE_TYPE_BIGINT, true, &e));
    TT_OK(tide_schema_add_n(s, "countryXYZ", 7, TIDE_TYPE_STRING, true, &e));
    TT_ASSERT_EQ_INT(tide_schema_ncols(s), 3);
    TT_ASSERT_EQ_STR(tide_schema_col(s, 1)->name, "User_Id");
    TT_ASSERT_EQ_STR(tide_schema_col(s, 2)->name, "country");
    TT_ASSERT_EQ_INT(tide_schema_col(s, 2)->name_len, 7);
    TT_ASSERT_EQ_INT(tide_schema_col(s, 0)->type, TIDE_TYPE_TIMESTAMP);
    TT_ASSERT(!tide_schema_col(s, 0)->nullable && tide_schema_col(s, 1)->nullable);
    TT_ASSERT_EQ_INT(tide_schema_find(s, "user_id", 7), 1);
    TT_ASSERT_EQ_INT(tide_schema_find(s, "USER_ID", 7), 1);
    TT_ASSERT_EQ_INT(tide_schema_find(s, "user_i", 6), -1);
    TT_ASSERT_EQ_INT(tide_schema_find(s, "user_idx", 8), -1);
    TT_ASSERT_EQ_INT(tide_schema_find(s, "COUNTRY", 7), 2);
    TT_ASSERT_EQ_INT(tide_schema_find(s, "ts", 2), 0);

    /* duplicates (any case), empty names, bad types */
    TT_ASSERT_EQ_INT(tide_schema_add(s, "TS", TIDE_TYPE_BIGINT, true, &e), TIDE_EEXIST);
    TT_ASSERT(strstr(e.msg, "duplicate column TS") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_schema_add(s, "", TIDE_TYPE_BIGINT, true, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_schema_add(s, "n", TIDE_TYPE_NULL, true, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_schema_ncols(s), 3);

    /* time column must be a TIMESTAMP */
    TT_ASSERT_EQ_INT(tide_schema_set_time_column(s, 1, &e), TIDE_EINVAL);
    TT_ASSERT(strstr(e.msg, "User_Id is BIGINT") != NULL);
    tide_err_clear(&e);
    TT_ASSERT_EQ_INT(tide_schema_set_time_column(s, 3, &e), TIDE_EINVAL);
    tide_err_clear(&e);
    TT_OK(tide_schema_set_time_column(s, 0, &e));
    TT_ASSERT_EQ_INT(tide_schema_time_column(s), 0);

    tide_schema *c = NULL;
    TT_OK(tide_schema_clone(s, &c, &e));
    TT_ASSERT(tide_schema_equal(s, c));
    TT_ASSERT(tide_schema_col(c, 1)->name != tide_schema_col(s, 1)->name);
    TT_OK(tide_schema_set_time_column(c, -1, &e));
    TT_ASSERT(!tide_schema_equal(s, c));
    tide_schema_free(c);
    tide_schema_free(s);
    tide_schema_free(NULL);
}

/* Many columns: lookup agrees with a brute-force scan using strcasecmp. */
static void test_many_columns(void)
{
    tide_schema *s = NULL;
    tide_err e = {0};
    TT_OK(tide_schema_create(&s, &e));
    char names[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof names[i], "Col_%d", i * 7);
        TT_OK(tide_schema_add(s, names[i], (tide_type)(1 + i % 5), i % 2, &e));
    }
    for (int i = 0; i < 1400; i++) {
        char q[16];
        int n = snprintf(q, sizeof q, "cOL_%d", i);
        int want = -1;
        for (int j = 0; j < 200; j++)
            if (strcasecmp(names[j], q) == 0)
                want = j;
        TT_ASSERT_EQ_INT(tide_schema_find(s, q, (size_t)n), want);
    }
    /* a duplicate is found through the index too, in any case */
    TT_ASSERT_EQ_INT(tide_schema_add(s, "COL_1393", TIDE_TYPE_BIGINT, true, &e), TIDE_EEXIST);
    TT_ASSERT_EQ_INT(tide_schema_ncols(s), 200);
    tide_schema_free(s);
}

int main(void)
{
    TT_RUN(test_build_and_find);
    TT_RUN(test_many_columns);
    TT_DONE();
}
