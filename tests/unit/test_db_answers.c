/*
 * Unit tests of api/db_answers: the table takes each database error a
 * handler meets to the answer the API tests expect (status, field,
 * message), a request's own rows before those of every write and those of
 * every request, and leaves to http/ what it does not answer (no
 * connection, a transient SQLSTATE). Also core/project_stages' text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "api/db_answers.h"
#include "core/project_stages.h"

/* A query failure as the pool reports it. */
static struct db_result failure(const char *sqlstate, const char *primary, const char *column,
                                const char *constraint)
{
    struct db_result r = {.failure = DB_FAIL_QUERY,
                          .sqlstate = sqlstate,
                          .message = "ERROR: ...",
                          .primary = primary,
                          .column = column,
                          .constraint = constraint};
    return r;
}

/* The status the table answers r with for request, 0 for none; the field
 * and message into field and *message. */
static int answer(const struct db_result *r, unsigned request, const char *scope, char *field,
                  const char **message)
{
    const struct db_answer *a = db_answer_find(r, request);
    field[0] = '\0';
    *message = NULL;
    if (!a)
        return 0;
    *message = db_answer_field(a, r, scope, field, 64);
    return a->status;
}

static void test_db_answers_every_request(void **state)
{
    (void)state;
    char field[64];
    const char *message;
    struct db_result r = failure("CR401", "invalid session", "", "");
    assert_int_equal(answer(&r, DB_READ, NULL, field, &message), 401);
    assert_null(message);
    r = failure("CR403", "role viewer may not call this route", "", "");
    assert_int_equal(answer(&r, DB_WRITE, NULL, field, &message), 403);
    r = failure("CR404", "no such unit", "", "");
    assert_int_equal(answer(&r, DB_CLAIM, NULL, field, &message), 404);
    r = failure("23505", "duplicate key value", "", "app_user_username_key");
    assert_int_equal(answer(&r, DB_USER_UPDATE, NULL, field, &message), 409);
    assert_null(message);
    r = failure("22P02", "invalid input syntax", "", "");
    assert_int_equal(answer(&r, DB_READ, NULL, field, &message), 422);
    assert_non_null(db_answer_find(&r, DB_READ)->log);
}

static void test_db_answers_left_to_http(void **state)
{
    (void)state;
    struct db_result r = failure("40001", "could not serialize access", "", "");
    assert_null(db_answer_find(&r, DB_WRITE));
    r = failure("57014", "canceling statement due to statement timeout", "", "");
    assert_null(db_answer_find(&r, DB_READ));
    r = failure("42501", "permission denied for table unit", "", "");
    assert_null(db_answer_find(&r, DB_WRITE)); /* not row-level security: a 500 */
    r = failure("CR401", "", "", "");
    r.failure = DB_FAIL_CONNECTION;
    assert_null(db_answer_find(&r, DB_READ));
}

static void test_db_answers_writes_name_the_field(void **state)
{
    (void)state;
    char field[64];
    const char *message;
    struct db_result r = failure("23505", "this company is already an investor", "uscc", "");
    assert_int_equal(answer(&r, DB_WRITE, "unit_id", field, &message), 409);
    assert_string_equal(field, "uscc");
    assert_string_equal(message, "this company is already an investor");
    r = failure("23505", "duplicate key value", "", "project_code_key");
    assert_int_equal(answer(&r, DB_WRITE, NULL, field, &message), 409);
    assert_string_equal(field, "code");
    assert_string_equal(message, "is already taken");
    r = failure("23503", "insert or update violates foreign key", "",
                "interaction_leader_leader_id_fkey");
    assert_int_equal(answer(&r, DB_WRITE, NULL, field, &message), 422);
    assert_string_equal(field, "leader_id");
    assert_string_equal(message, "does not name a record you can see");
    r = failure("23514", "new row violates check constraint", "", "project_start_started_on_check");
    assert_int_equal(answer(&r, DB_WRITE, NULL, field, &message), 422);
    assert_string_equal(field, "started_on");
    assert_string_equal(message, "is not acceptable");
    r = failure("23503", "parent unit does not exist", "", "");
    assert_int_equal(answer(&r, DB_WRITE, NULL, field, &message), 422);
    assert_string_equal(field, "body");
    assert_string_equal(message, "parent unit does not exist");
    r = failure("42501", "new row violates row-level security policy for table \"project\"", "",
                "");
    assert_int_equal(answer(&r, DB_WRITE, "unit_id", field, &message), 422);
    assert_string_equal(field, "unit_id");
    assert_string_equal(message, "is not within what you may change");
    assert_int_equal(answer(&r, DB_WRITE, NULL, field, &message), 422);
    assert_string_equal(field, "body");
}

static void test_db_answers_own_rows_first(void **state)
{
    (void)state;
    char field[64];
    const char *message;
    struct db_result r = failure("22007", "invalid input syntax for type timestamp", "", "");
    assert_int_equal(answer(&r, DB_AUDIT, NULL, field, &message), 400);
    r = failure("57014", "canceling statement due to statement timeout", "", "");
    assert_int_equal(answer(&r, DB_IMPORT, NULL, field, &message), 503);
    r = failure("23503", "unit does not exist", "unit_id", "");
    assert_int_equal(answer(&r, DB_USER_UPDATE, NULL, field, &message), 422);
    assert_string_equal(field, "unit_id");
    assert_string_equal(message, "is not a unit you can manage");
    r = failure("23505", "duplicate key value", "", "app_user_username_key");
    assert_int_equal(answer(&r, DB_USER_CREATE, NULL, field, &message), 409);
    assert_string_equal(field, "username");
    assert_string_equal(message, "is taken");
    r = failure("23514", "a project reaches capacity after production", "capacity_on", "");
    assert_int_equal(answer(&r, DB_TRANSITION, "to", field, &message), 422);
    assert_string_equal(field, "on");
    assert_string_equal(message, "a project reaches capacity after production");
    r = failure("23514", "signed cannot jump to in_production: no stage is skipped", "", "");
    assert_int_equal(answer(&r, DB_TRANSITION, "to", field, &message), 422);
    assert_string_equal(field, "to");
    r = failure("23514", "the user who reported a claim cannot verify it", "", "");
    assert_int_equal(answer(&r, DB_CLAIM, NULL, field, &message), 409);
    assert_null(message);
    r = failure("42501", "only the bureau or the assessment office verifies claims", "", "");
    assert_int_equal(answer(&r, DB_CLAIM, NULL, field, &message), 403);
    r = failure("42501", "new row violates row-level security policy", "", "");
    assert_int_equal(answer(&r, DB_CLAIM, NULL, field, &message), 422);
    assert_string_equal(field, "body");
}

static void test_project_stages(void **state)
{
    (void)state;
    char text[128];
    assert_string_equal(project_stages_text(text, sizeof text),
                        "planned, lead, negotiating, signed, started, in_production, "
                        "at_capacity, stalled or terminated");
    assert_true(project_stage_valid("at_capacity"));
    assert_false(project_stage_valid("signing"));
    assert_false(project_stage_valid(""));
    project_stages_text(text, 10);
    assert_string_equal(text, "planned, ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_answers_every_request),
        cmocka_unit_test(test_db_answers_left_to_http),
        cmocka_unit_test(test_db_answers_writes_name_the_field),
        cmocka_unit_test(test_db_answers_own_rows_first),
        cmocka_unit_test(test_project_stages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
