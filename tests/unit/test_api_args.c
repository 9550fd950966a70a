/* test_api_args.c - statements with named parameters (http/api.h): each
 * one's args CTE lists exactly the names its handler fills, as $4, $5, ...
 * in order, and no numbered parameter past the caller's appears elsewhere. */
#include "handlers/reflections_sql.h"
#include "http/api.h"

#include <criterion/criterion.h>

Test(api_args, reflection_statements_name_their_parameters)
{
    int n = 0;
    for (const struct api_args *a = reflections_args; a->name; a++, n++) {
        char why[200] = "";
        cr_expect_eq(api_args_check(a, why, sizeof(why)), 0, "%s", why);
    }
    cr_assert_geq(n, 2);
}

static const char *const names[] = {"id", "team_id", NULL};

Test(api_args, misnumbered_or_renamed_parameters_are_caught)
{
    static const struct {
        const char *sql;
        int ok;
    } cases[] = {
        {"WITH args AS (SELECT $4::uuid AS id, $5::uuid AS team_id) SELECT args.id", 1},
        {"WITH args AS (SELECT $4::uuid AS id, $6::uuid AS team_id) SELECT 1", 0},
        {"WITH args AS (SELECT $5::uuid AS id, $4::uuid AS team_id) SELECT 1", 0},
        {"WITH args AS (SELECT $4::uuid AS team_id, $5::uuid AS id) SELECT 1", 0},
        {"WITH args AS (SELECT $4::uuid AS id) SELECT 1", 0},
        {"WITH args AS (SELECT $4::uuid AS id, $5::uuid AS team_id, $6::int AS x) SELECT 1", 0},
        {"WITH args AS (SELECT $4::uuid AS id, $5::uuid AS team_id) SELECT $5", 0},
        {"WITH args AS (SELECT $4::uuid AS id, $5::uuid AS team_idx) SELECT 1", 0},
        {"SELECT $4, $5", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_args a = {"case", cases[i].sql, names};
        char why[200] = "";
        cr_expect_eq(api_args_check(&a, why, sizeof(why)) == 0, cases[i].ok, "case %zu: %s", i,
                     why);
    }
}
