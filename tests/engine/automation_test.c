/*
 * automation_test.c - struere_automations_fire against the example
 * project's real development and production bundles (what each of its
 * automations fires on, and its exact output), and against a small
 * project this test writes and compiles with the real struere binary, for
 * what the example does not use: numeric conditions, raw and interpolated
 * values of every JSON type, number formatting, slug order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/builder.h"
#include "engine.h"

/* ---- calling it ---- */

static int last_rc;
static struere_error last_err;

/* The answer to one event (malloc'd), or NULL with last_rc saying why. */
static char *fire(struere_runtime *rt, const char *type, const char *action,
                  const char *id, const char *data, const char *prev)
{
    struere_event ev = {type,
                        action,
                        id,
                        data,
                        data ? strlen(data) : 0,
                        prev,
                        prev ? strlen(prev) : 0};
    char *out = (char *)"unset";
    size_t len = 12345;
    last_rc = struere_automations_fire(&out, &len, rt, &ev, &last_err);
    if (last_rc < 0) {
        if (out != NULL || len != 0) {
            printf("FAIL failure left out=%p len=%zu\n", (void *)out, len);
            engine_failed++;
        }
        return NULL;
    }
    if (strlen(out) != len) {
        printf("FAIL len %zu but strlen %zu\n", len, strlen(out));
        engine_failed++;
    }
    return out;
}

/* Checks the whole answer against `want`. */
#define EXPECT(rt, type, action, id, data, prev, want)                         \
    do {                                                                       \
        char *got_ = fire(rt, type, action, id, data, prev);                   \
        CHECKF(got_ && !strcmp(got_, want), "rc %d (%s)\n got: %s\nwant: %s",  \
               last_rc, last_err.message, got_ ? got_ : "(null)", want);       \
        struere_free(got_);                                                    \
    } while (0)

/* The slugs the answer lists, comma-separated, into `buf`; "ERROR" when
 * the call failed or the answer is not a JSON array. */
static const char *slugs(struere_runtime *rt, const char *type,
                         const char *action, const char *data, const char *prev,
                         char *buf, size_t cap)
{
    char *got = fire(rt, type, action, "rec_1", data, prev);
    struere_json v;
    size_t used = 0;
    buf[0] = 0;
    if (!got || struere_json_get(&v, got, strlen(got), "", NULL) < 0 ||
        struere_json_type(v, NULL) != STRUERE_JSON_ARRAY) {
        struere_free(got);
        return "ERROR";
    }
    for (int i = 0;; i++) {
        char path[32], s[128];
        snprintf(path, sizeof(path), "%d.automation", i);
        if (struere_json_get(&v, got, strlen(got), path, NULL) < 0 ||
            struere_json_string(s, sizeof(s), NULL, v, NULL) < 0)
            break;
        used +=
            (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "," : "", s);
    }
    struere_free(got);
    return buf;
}

#define FIRES(rt, type, action, data, prev, want)                              \
    do {                                                                       \
        char b_[512];                                                          \
        const char *s_ = slugs(rt, type, action, data, prev, b_, sizeof(b_));  \
        CHECKF(!strcmp(s_, want), "%s %s %s: fired [%s], want [%s]", type,     \
               action, data, s_, want);                                        \
    } while (0)

/* ---- the example's events ---- */

#define SESSION                                                                \
    "{\"studentId\":\"stu_7\",\"teacherId\":\"tch_3\",\"subject\":\"math\","   \
    "\"startTime\":\"2026-03-02T15:00:00Z\",\"durationMinutes\":60,"           \
    "\"price\":45.5,"
#define COMPLETED SESSION "\"status\":\"completed\",\"isTrial\":false}"
#define SCHEDULED SESSION "\"status\":\"scheduled\",\"isTrial\":false}"
#define WAS_SCHEDULED "{\"status\":\"scheduled\",\"isTrial\":false}"

static const char bill_out[] =
    "[{\"automation\":\"bill-completed-session\",\"name\":\"Bill Completed "
    "Lesson\",\"actions\":[{\"tool\":\"entity.get\",\"args\":{\"id\":"
    "\"stu_7\"},\"as\":\"student\"},{\"tool\":\"create_payment_link\","
    "\"args\":{\"amount\":45.5,\"currency\":\"USD\",\"description\":\"math "
    "lesson for {{steps.student.data.name}}, 2026-03-02T15:00:00Z\","
    "\"reference\":\"ses_42\"},\"as\":\"link\"},{\"tool\":\"entity.create\","
    "\"args\":{\"cascade\":true,\"data\":{\"amount\":45.5,\"checkoutUrl\":"
    "\"{{steps.link.url}}\",\"currency\":\"USD\",\"description\":\"math "
    "lesson for {{steps.student.data.name}}\",\"guardianId\":"
    "\"{{steps.student.data.guardianId}}\",\"sessionId\":\"ses_42\","
    "\"status\":\"pending\"},\"type\":\"payment\"},\"as\":\"payment\"},"
    "{\"tool\":\"entity.update\",\"args\":{\"data\":{\"billed\":true,"
    "\"paymentId\":\"{{steps.payment.id}}\"},\"id\":\"ses_42\",\"type\":"
    "\"session\"}}],\"retry\":{\"maxAttempts\":1,\"backoffMs\":60000},"
    "\"deferred\":[\"steps.student.data.name\",\"steps.link.url\","
    "\"steps.student.data.guardianId\",\"steps.payment.id\"]}]";

static const char reminder_out[] =
    "[{\"automation\":\"session-reminder\",\"name\":\"Lesson Reminder\","
    "\"actions\":[{\"tool\":\"entity.get\",\"args\":{\"id\":\"stu_7\"},"
    "\"as\":\"student\"},{\"tool\":\"entity.get\",\"args\":{\"id\":"
    "\"{{steps.student.data.guardianId}}\"},\"as\":\"guardian\"},{\"tool\":"
    "\"entity.get\",\"args\":{\"id\":\"tch_3\"},\"as\":\"teacher\"},"
    "{\"tool\":\"whatsapp.send\",\"args\":{\"text\":\"Reminder: "
    "{{steps.student.data.name}} has a math lesson with "
    "{{steps.teacher.data.name}} in one hour (2026-03-02T15:00:00Z). Reply "
    "here if you need to reschedule.\",\"to\":"
    "\"{{steps.guardian.data.phone}}\"}},{\"tool\":\"entity.update\","
    "\"args\":{\"data\":{\"reminderSent\":true},\"id\":\"ses_42\",\"type\":"
    "\"session\"}}],\"schedule\":{\"at\":\"2026-03-02T15:00:00Z\","
    "\"cancelPrevious\":true,\"offset\":-3600000},\"retry\":{"
    "\"maxAttempts\":2,\"backoffMs\":120000},\"deferred\":["
    "\"steps.student.data.guardianId\",\"steps.student.data.name\","
    "\"steps.teacher.data.name\",\"steps.guardian.data.phone\"]}]";

static const char cancel_out[] =
    "[{\"automation\":\"notify-tutor-of-cancellation\",\"name\":\"Notify "
    "Tutor of Cancellation\",\"actions\":[{\"tool\":\"entity.get\",\"args\":"
    "{\"id\":\"tch_3\"},\"as\":\"teacher\"},{\"tool\":\"entity.get\","
    "\"args\":{\"id\":\"stu_7\"},\"as\":\"student\"},{\"tool\":"
    "\"email.send\",\"args\":{\"subject\":\"Cancelled: math with "
    "{{steps.student.data.name}}\",\"text\":\"Hi "
    "{{steps.teacher.data.name}},\\n\\nThe math lesson with "
    "{{steps.student.data.name}}\\non 2026-03-02T15:00:00Z has been "
    "cancelled by the office. It is\\nno longer on your schedule and you "
    "will be paid the late-cancellation\\nfee if it was within 24 "
    "hours.\\n\\nThe Acme Tutoring office\\n\",\"to\":"
    "\"{{steps.teacher.data.email}}\"}}],\"retry\":{\"maxAttempts\":1,"
    "\"backoffMs\":60000},\"deferred\":[\"steps.student.data.name\","
    "\"steps.teacher.data.name\",\"steps.teacher.data.email\"]}]";

#define PAYMENT                                                                \
    "{\"guardianId\":\"gdn_2\",\"sessionId\":\"ses_42\",\"amount\":45.50,"     \
    "\"currency\":\"USD\",\"description\":\"math lesson for Sof\\u00eda\","    \
    "\"checkoutUrl\":\"https://pay.example/c/1\",\"status\":"

static const char invoice_out[] =
    "[{\"automation\":\"send-invoice\",\"name\":\"Send Invoice\",\"actions\":"
    "[{\"tool\":\"entity.get\",\"args\":{\"id\":\"gdn_2\"},\"as\":"
    "\"guardian\"},{\"tool\":\"email.send\",\"args\":{\"replyTo\":"
    "\"billing@acmetutoring.com\",\"subject\":\"Your Acme Tutoring invoice: "
    "math lesson for Sofía\",\"text\":\"Hi {{steps.guardian.data.name}},"
    "\\n\\nThank you for learning with us! Your invoice for\\nmath lesson "
    "for Sofía comes to $45.5.\\n\\nPay securely by card here: "
    "https://pay.example/c/1\\n\\nPrefer a bank transfer? Just reply to this "
    "email.\\n\\nAcme Tutoring\\n\",\"to\":\"{{steps.guardian.data.email}}\""
    "}}],\"retry\":{\"maxAttempts\":1,\"backoffMs\":60000},\"deferred\":["
    "\"steps.guardian.data.name\",\"steps.guardian.data.email\"]}]";

#define GUARDIAN                                                               \
    "{\"name\":\"Ana \\\"Annie\\\" Ruiz\",\"phone\":\"+15125550100\","         \
    "\"preferredChannel\":"

#define WELCOME_OUT(delay)                                                     \
    "[{\"automation\":\"welcome-new-family\",\"name\":\"Welcome New "          \
    "Family\",\"actions\":[{\"tool\":\"whatsapp.send\",\"args\":{\"text\":"    \
    "\"Hi Ana \\\"Annie\\\" Ruiz, welcome to Acme Tutoring! This is our "      \
    "WhatsApp line: message us any time to check lessons, book a session or "  \
    "ask a question. Your first 45-minute trial lesson is on us.\",\"to\":"    \
    "\"+15125550100\"}},{\"tool\":\"entity.update\",\"args\":{\"data\":{"      \
    "\"welcomeSent\":true},\"id\":\"gdn_2\",\"type\":\"guardian\"}}],"         \
    "\"schedule\":{\"cancelPrevious\":false,\"delay\":" delay "},\"retry\":{"  \
    "\"maxAttempts\":3,\"backoffMs\":60000},\"deferred\":[]}]"

/* Each example automation, exactly, and its near misses. */
static void test_example(struere_runtime *dev, struere_runtime *prod)
{
    /* bill-completed-session: updated, three conditions, one on the
     * previous data */
    EXPECT(dev, "session", "updated", "ses_42", COMPLETED, WAS_SCHEDULED,
           bill_out);
    EXPECT(prod, "session", "updated", "ses_42", COMPLETED, WAS_SCHEDULED,
           bill_out);
    FIRES(dev, "payment", "updated", COMPLETED, WAS_SCHEDULED, "");
    FIRES(dev, "session", "created", COMPLETED, WAS_SCHEDULED, "");
    FIRES(dev, "session", "deleted", COMPLETED, WAS_SCHEDULED, "");
    FIRES(dev, "session", "updated", COMPLETED, "{\"status\":\"requested\"}",
          "");
    FIRES(dev, "session", "updated", COMPLETED, NULL, ""); /* no previous */
    FIRES(dev, "session", "updated", COMPLETED, "{}", "");
    FIRES(dev, "session", "updated",
          "{\"status\":\"completed\",\"isTrial\":true}", WAS_SCHEDULED, "");
    FIRES(dev, "session", "updated",
          "{\"status\":\"completed\",\"isTrial\":\"false\"}", WAS_SCHEDULED,
          "");
    FIRES(dev, "session", "updated", "{\"status\":\"completed\",\"isTrial\":0}",
          WAS_SCHEDULED, "");
    FIRES(dev, "session", "updated",
          "{\"status\":\"completed\",\"isTrial\":null}", WAS_SCHEDULED, "");
    FIRES(dev, "session", "updated", "{\"status\":\"completed\"}",
          WAS_SCHEDULED, ""); /* isTrial missing */
    FIRES(dev, "session", "updated",
          "{\"status\":\"Completed\",\"isTrial\":false}", WAS_SCHEDULED, "");
    FIRES(dev, "session", "updated",
          "{\"status\":\"completed\",\"isTrial\":false}", WAS_SCHEDULED,
          "bill-completed-session");
    /* escapes in the event are decoded before comparing */
    FIRES(dev, "session", "updated",
          "{\"status\":\"complet\\u0065d\",\"isTrial\":false}",
          "{\"status\":\"sch\\u0065duled\"}", "bill-completed-session");
    FIRES(dev, "Session", "updated", COMPLETED, WAS_SCHEDULED, "");

    /* session-reminder: any update of a scheduled session */
    EXPECT(dev, "session", "updated", "ses_42", SCHEDULED, WAS_SCHEDULED,
           reminder_out);
    FIRES(dev, "session", "updated", SCHEDULED, NULL, "session-reminder");
    FIRES(dev, "session", "created", SCHEDULED, NULL, "");
    FIRES(dev, "session", "updated",
          "{\"status\":\"scheduled \",\"isTrial\":false}", NULL, "");

    /* notify-tutor-of-cancellation: deleted; a previous given with it is
     * not previousData */
    EXPECT(dev, "session", "deleted", "ses_42", SCHEDULED, NULL, cancel_out);
    EXPECT(dev, "session", "deleted", "ses_42", SCHEDULED, "{\"x\":1}",
           cancel_out);
    FIRES(dev, "session", "deleted", COMPLETED, NULL, "");
    FIRES(dev, "student", "deleted", SCHEDULED, NULL, "");

    /* send-invoice: 45.50 is interpolated as JavaScript writes 45.5; the
     * \u00ed escape comes out as the character */
    EXPECT(dev, "payment", "created", "pay_1", PAYMENT "\"pending\"}", NULL,
           invoice_out);
    FIRES(dev, "payment", "created", PAYMENT "\"paid\"}", NULL, "");
    FIRES(dev, "payment", "updated", PAYMENT "\"pending\"}",
          "{\"status\":\"draft\"}", "");

    /* welcome-new-family: the development overlay's 10 s delay */
    EXPECT(dev, "guardian", "created", "gdn_2", GUARDIAN "\"whatsapp\"}", NULL,
           WELCOME_OUT("10000"));
    EXPECT(prod, "guardian", "created", "gdn_2", GUARDIAN "\"whatsapp\"}", NULL,
           WELCOME_OUT("300000"));
    FIRES(dev, "guardian", "created", GUARDIAN "\"sms\"}", NULL, "");
    FIRES(dev, "guardian", "created", "{\"name\":\"x\"}", NULL, "");
    FIRES(dev, "guardian", "updated", GUARDIAN "\"whatsapp\"}", NULL, "");
    FIRES(dev, "teacher", "created", GUARDIAN "\"whatsapp\"}", NULL, "");

    /* an event nothing watches; white space around the data */
    EXPECT(dev, "progress-report", "created", "r", "{}", NULL, "[]");
    EXPECT(dev, "guardian", "deleted", "r", " \n{ } \t", NULL, "[]");
}

/* ---- bad input ---- */

/* 1 when the call succeeds (its answer freed). */
static int fire_ok_free(struere_runtime *rt, const char *type,
                        const char *action, const char *data, const char *prev)
{
    char *out = fire(rt, type, action, "x", data, prev);
    struere_free(out);
    return out != NULL;
}

static void test_errors(struere_runtime *dev, struere_runtime *eval)
{
    struere_event ev = {"session", "updated", "x", "{}", 2, NULL, 0};
    char *out = NULL;
    size_t len = 0;

    CHECK(!fire(eval, "session", "updated", "x", "{}", NULL) &&
          last_rc == STRUERE_EENV && last_err.code == STRUERE_EENV);
    CHECK(!fire(NULL, "session", "updated", "x", "{}", NULL) &&
          last_rc == STRUERE_EINVAL);
    CHECK(struere_automations_fire(&out, &len, dev, NULL, NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_automations_fire(NULL, &len, dev, &ev, NULL) ==
          STRUERE_EINVAL);
    /* len may be NULL, and so may err */
    CHECK(struere_automations_fire(&out, NULL, dev, &ev, NULL) == 0 &&
          !strcmp(out, "[]"));
    struere_free(out);

    CHECK(!fire(dev, "session", "modified", "x", "{}", NULL) &&
          last_rc == STRUERE_EINVAL && strstr(last_err.message, "modified"));
    CHECK(!fire(dev, "session", "Created", "x", "{}", NULL) &&
          last_rc == STRUERE_EINVAL);
    CHECK(!fire(dev, "session", "", "x", "{}", NULL) &&
          last_rc == STRUERE_EINVAL);
    CHECK(!fire(dev, NULL, "created", "x", "{}", NULL) &&
          last_rc == STRUERE_EINVAL);
    CHECK(!fire(dev, "session", NULL, "x", "{}", NULL) &&
          last_rc == STRUERE_EINVAL);
    CHECK(!fire(dev, "sess\xff", "created", "x", "{}", NULL) &&
          last_rc == STRUERE_EINVAL);
    CHECK(!fire(dev, "session", "created", "x\xc0\x80", "{}", NULL) &&
          last_rc == STRUERE_EINVAL);
    CHECK(!fire(dev, "session", "created", "x", NULL, NULL) &&
          last_rc == STRUERE_EINVAL);

    static const char *const bad[] = {"",
                                      "{",
                                      "{\"a\":}",
                                      "{\"a\":1,}",
                                      "{'a':1}",
                                      "{\"a\":1} x",
                                      "{\"a\":\"\xff\"}",
                                      "{\"a\":01}",
                                      "{\"a\":\"\\x\"}",
                                      "{\"a\":\"\\ud800\"}",
                                      "nul"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECKF(!fire(dev, "session", "created", "x", bad[i], NULL) &&
                   last_rc == STRUERE_EJSON,
               "data '%s' gave %d", bad[i], last_rc);
    static const char *const not_object[] = {"[]", "\"x\"", "5", "null",
                                             "true"};
    for (size_t i = 0; i < sizeof(not_object) / sizeof(not_object[0]); i++)
        CHECKF(!fire(dev, "session", "deleted", "x", not_object[i], NULL) &&
                   last_rc == STRUERE_EJSON &&
                   strstr(last_err.message, "not an object"),
               "data %s gave %d: %s", not_object[i], last_rc, last_err.message);
    CHECK(!fire(dev, "session", "updated", "x", "{}", "{") &&
          last_rc == STRUERE_EJSON && strstr(last_err.message, "previous"));
    CHECK(!fire(dev, "session", "updated", "x", "{}", "[1]") &&
          last_rc == STRUERE_EJSON);
    /* previous data belongs to updates: elsewhere it is not read */
    CHECK(fire_ok_free(dev, "session", "created", "{}", "{"));
    /* the length is honoured: text past it is not read */
    ev.data = "{}garbage";
    ev.data_len = 2;
    CHECK(struere_automations_fire(&out, &len, dev, &ev, NULL) == 0 &&
          !strcmp(out, "[]"));
    struere_free(out);
    ev.data_len = 3;
    CHECK(struere_automations_fire(&out, &len, dev, &ev, NULL) ==
              STRUERE_EJSON &&
          out == NULL);
}

/* ---- a project of this test's own, compiled by struere ---- */

static const char widget_yaml[] =
    "name: Widget\n"
    "slug: widget\n"
    "schema:\n"
    "  type: object\n"
    "  properties:\n"
    "    count: {type: number}\n"
    "    label: {type: string}\n"
    "    flag: {type: boolean}\n"
    "    tags: {type: array, items: {type: string}}\n"
    "    meta: {type: object, properties: {a: {type: number}, b: {type: "
    "string}}}\n"
    "    price: {type: number}\n"
    "    note: {type: string}\n";

/* Every kind of value, raw and interpolated; spaces inside {{ }}; steps
 * repeated; an action without args; `at` as a number; retry half given. */
static const char count_five_yaml[] =
    "name: Count Five\n"
    "slug: count-five\n"
    "on:\n"
    "  entityType: widget\n"
    "  action: updated\n"
    "  condition:\n"
    "    data.count: 5\n"
    "    previousData.label: old\n"
    "schedule:\n"
    "  at: \"{{trigger.data.price}}\"\n"
    "  offset: 1000\n"
    "retry:\n"
    "  maxAttempts: 4\n"
    "actions:\n"
    "  - tool: entity.get\n"
    "    args:\n"
    "      id: \"{{ trigger.entityId }}\"\n"
    "      whole: \"{{trigger.data}}\"\n"
    "      meta: \"{{trigger.data.meta}}\"\n"
    "      tags: [\"{{trigger.data.tags}}\", \"x{{trigger.data.tags}}\", 7, "
    "null, true]\n"
    "      count: \"{{trigger.data.count}}\"\n"
    "      price: \"p={{trigger.data.price}}\"\n"
    "      flag: \"{{trigger.data.flag}}/{{trigger.data.flag}}\"\n"
    "      note: \"{{trigger.data.note}}\"\n"
    "      missing: \"[{{trigger.data.note}}]\"\n"
    "      before: \"{{trigger.previousData.label}}\"\n"
    "      city: \"{{trigger.data.meta.b}}\"\n"
    "      who: \"{{trigger.entityType}}:{{trigger.action}}\"\n"
    "    as: first\n"
    "  - tool: email.send\n"
    "    args:\n"
    "      to: \"{{steps.first.email}}\"\n"
    "      again: \"{{ steps.first.email }} and {{steps.first.name}} / "
    "{{steps.first.email}}\"\n"
    "  - tool: entity.query\n";

/* No condition: fires on every update, after count-five (slug order). */
static const char zz_any_yaml[] =
    "name: Any Update\n"
    "slug: zz-any\n"
    "on: {entityType: widget, action: updated}\n"
    "actions:\n"
    "  - tool: entity.get\n"
    "    args: {id: \"{{trigger.entityId}}\", t: \"{{trigger.data.note}}\"}\n";

/* A nested numeric condition, a boolean and a null. */
static const char aa_gone_yaml[] =
    "name: Gone\n"
    "slug: aa-gone\n"
    "on:\n"
    "  entityType: widget\n"
    "  action: deleted\n"
    "  condition:\n"
    "    data.meta.a: 1.5\n"
    "    data.flag: true\n"
    "    data.note: null\n"
    "actions:\n"
    "  - tool: entity.get\n"
    "    args: {id: \"{{trigger.entityId}}\", a: \"{{trigger.action}}\"}\n";

/* Writes and builds the project in a new temporary directory (its path in
 * `dir`); 0 on success. */
static int build_project(const char *struere, char *dir, size_t cap)
{
    char cmd[8192];
    snprintf(dir, cap, "/tmp/automation-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/data' '%s/automations'", dir, dir);
    if (system(cmd) != 0)
        return -1;
    if (engine_write_file(dir, "struere.yaml",
                          "name: automation-test\nversion: \"1.0\"\n") < 0 ||
        engine_write_file(dir, "data/widget.yaml", widget_yaml) < 0 ||
        engine_write_file(dir, "automations/count-five.yaml", count_five_yaml) <
            0 ||
        engine_write_file(dir, "automations/zz-any.yaml", zz_any_yaml) < 0 ||
        engine_write_file(dir, "automations/aa-gone.yaml", aa_gone_yaml) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' -C '%s' build --out '%s/out' >/dev/null",
             struere, dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define WIDGET                                                                 \
    "{\"count\":5.0,\"label\":\"new\",\"flag\":true,\"tags\":[\"a\","          \
    "\"b\\\"q\"],\"meta\":{\"a\":1.50,\"b\":\"\\u00e9\\n\"},\"price\":"        \
    "1767261600000,\"note\":null}"

static const char count_five_out[] =
    "[{\"automation\":\"count-five\",\"name\":\"Count Five\",\"actions\":["
    "{\"tool\":\"entity.get\",\"args\":{\"before\":\"old\",\"city\":"
    "\"é\\n\",\"count\":5,\"flag\":\"true/true\",\"id\":\"w_9\",\"meta\":{"
    "\"a\":1.5,\"b\":\"é\\n\"},\"missing\":\"[]\",\"note\":\"\",\"price\":"
    "\"p=1767261600000\",\"tags\":[[\"a\",\"b\\\"q\"],\"x[\\\"a\\\","
    "\\\"b\\\\\\\"q\\\"]\",7,null,true],\"who\":\"widget:updated\","
    "\"whole\":{\"count\":5,\"label\":\"new\",\"flag\":true,\"tags\":[\"a\","
    "\"b\\\"q\"],\"meta\":{\"a\":1.5,\"b\":\"é\\n\"},\"price\":"
    "1767261600000,\"note\":null}},\"as\":\"first\"},{\"tool\":"
    "\"email.send\",\"args\":{\"again\":\"{{ steps.first.email }} and "
    "{{steps.first.name}} / {{steps.first.email}}\",\"to\":"
    "\"{{steps.first.email}}\"}},{\"tool\":\"entity.query\",\"args\":{}}],"
    "\"schedule\":{\"at\":1767261600000,\"cancelPrevious\":false,\"offset\":"
    "1000},\"retry\":{\"maxAttempts\":4,\"backoffMs\":60000},\"deferred\":["
    "\"steps.first.email\",\"steps.first.name\"]},{\"automation\":\"zz-any\","
    "\"name\":\"Any Update\",\"actions\":[{\"tool\":\"entity.get\",\"args\":"
    "{\"id\":\"w_9\",\"t\":\"\"}}],\"retry\":{\"maxAttempts\":1,"
    "\"backoffMs\":60000},\"deferred\":[]}]";

/* The string at `path` of the first automation's first action's args, as
 * its JSON text, into `buf`. */
static const char *arg_of(struere_runtime *rt, const char *data,
                          const char *path, char *buf, size_t cap)
{
    char full[128];
    struere_json v;
    char *got = fire(rt, "widget", "updated", "w", data, "{\"label\":\"old\"}");
    snprintf(full, sizeof(full), "0.actions.0.args.%s", path);
    if (!got || struere_json_get(&v, got, strlen(got), full, NULL) < 0 ||
        v.len >= cap) {
        struere_free(got);
        return "ERROR";
    }
    memcpy(buf, v.ptr, v.len);
    buf[v.len] = 0;
    struere_free(got);
    return buf;
}

/* `price` as interpolated into "p=..." and `count`... as the raw value. */
#define PRICE(num, want)                                                       \
    do {                                                                       \
        char b_[256];                                                          \
        const char *g_ = arg_of(rt, "{\"count\":5,\"price\":" num "}",         \
                                "price", b_, sizeof(b_));                      \
        CHECKF(!strcmp(g_, "\"p=" want "\""), "price %s gave %s", num, g_);    \
    } while (0)

static void test_own(struere_runtime *rt)
{
    char b[256];
    EXPECT(rt, "widget", "updated", "w_9", WIDGET, "{\"label\":\"old\"}",
           count_five_out);
    /* numbers compare by value, never with strings */
    FIRES(rt, "widget", "updated", "{\"count\":5}", "{\"label\":\"old\"}",
          "count-five,zz-any");
    FIRES(rt, "widget", "updated", "{\"count\":5e0}", "{\"label\":\"old\"}",
          "count-five,zz-any");
    FIRES(rt, "widget", "updated", "{\"count\":0.5E1}", "{\"label\":\"old\"}",
          "count-five,zz-any");
    FIRES(rt, "widget", "updated", "{\"count\":\"5\"}", "{\"label\":\"old\"}",
          "zz-any");
    FIRES(rt, "widget", "updated", "{\"count\":5.000001}",
          "{\"label\":\"old\"}", "zz-any");
    FIRES(rt, "widget", "updated", "{\"count\":[5]}", "{\"label\":\"old\"}",
          "zz-any");
    FIRES(rt, "widget", "updated", "{\"count\":5}", "{\"label\":\"new\"}",
          "zz-any");
    FIRES(rt, "widget", "updated", "{\"count\":5}", NULL, "zz-any");
    FIRES(rt, "widget", "created", "{\"count\":5}", "{\"label\":\"old\"}", "");
    /* nested path, boolean, null (a missing key is not null) */
    FIRES(rt, "widget", "deleted",
          "{\"meta\":{\"a\":15e-1},\"flag\":true,\"note\":null}", NULL,
          "aa-gone");
    FIRES(rt, "widget", "deleted", "{\"meta\":{\"a\":1.5},\"flag\":true}", NULL,
          "");
    FIRES(rt, "widget", "deleted",
          "{\"meta\":{\"a\":1.5},\"flag\":1,\"note\":null}", NULL, "");
    FIRES(rt, "widget", "deleted",
          "{\"meta\":[1.5],\"flag\":true,\"note\":null}", NULL, "");
    FIRES(rt, "widget", "deleted",
          "{\"meta\":{\"a\":\"1.5\"},\"flag\":true,\"note\":null}", NULL, "");
    /* no entity id: trigger.entityId is undefined, so "" */
    EXPECT(rt, "widget", "deleted", NULL,
           "{\"meta\":{\"a\":1.5},\"flag\":true,\"note\":null}", NULL,
           "[{\"automation\":\"aa-gone\",\"name\":\"Gone\",\"actions\":[{"
           "\"tool\":\"entity.get\",\"args\":{\"a\":\"deleted\",\"id\":\"\"}}"
           "],\"retry\":{\"maxAttempts\":1,\"backoffMs\":60000},\"deferred\":"
           "[]}]");
    /* numbers interpolated as JavaScript's String() writes them */
    PRICE("45", "45");
    PRICE("45.50", "45.5");
    PRICE("-0", "0");
    PRICE("0.000001", "0.000001");
    PRICE("0.0000001", "1e-7");
    PRICE("1e21", "1e+21");
    PRICE("123456789012345678901", "123456789012345680000");
    PRICE("1.5e300", "1.5e+300");
    PRICE("9007199254740993", "9007199254740992");
    PRICE("0.1000000000000000055511151231257827", "0.1");
    PRICE("1e400", "Infinity");
    PRICE("-1e400", "-Infinity");
    PRICE("1e-400", "0");
    /* ...and as raw JSON values (JSON.stringify: Infinity is null) */
    CHECK(!strcmp(
        arg_of(rt, "{\"count\":5,\"price\":1e400}", "price", b, sizeof(b)),
        "\"p=Infinity\""));
    {
        char *got =
            fire(rt, "widget", "updated", "w", "{\"count\":5,\"price\":1e400}",
                 "{\"label\":\"old\"}");
        CHECKF(got && strstr(got, "\"schedule\":{\"at\":null,"), "got %s",
               got ? got : "(null)");
        struere_free(got);
    }
    /* strings are escaped as JSON.stringify escapes them */
    CHECK(!strcmp(arg_of(rt, "{\"count\":5,\"note\":\"a\\u0001\\/\\t\\\"\"}",
                         "missing", b, sizeof(b)),
                  "\"[a\\u0001/\\t\\\"]\""));
    CHECK(!strcmp(arg_of(rt, "{\"count\":5,\"note\":\"\\ud83d\\ude00\"}",
                         "note", b, sizeof(b)),
                  "\"\xf0\x9f\x98\x80\""));
    /* an object interpolated is its JSON, escaped inside the string */
    CHECK(!strcmp(arg_of(rt, "{\"count\":5,\"note\":{\"k\":[1,\"v\"]}}",
                         "missing", b, sizeof(b)),
                  "\"[{\\\"k\\\":[1,\\\"v\\\"]}]\""));
    /* the raw value of a string template keeps its type */
    CHECK(!strcmp(
        arg_of(rt, "{\"count\":5,\"note\":false}", "note", b, sizeof(b)),
        "false"));
    CHECK(!strcmp(arg_of(rt, "{\"count\":5,\"note\":0}", "note", b, sizeof(b)),
                  "0"));
    CHECK(!strcmp(
        arg_of(rt, "{\"count\":5,\"note\":false}", "missing", b, sizeof(b)),
        "\"[false]\""));
    CHECK(!strcmp(
        arg_of(rt, "{\"count\":5,\"note\":null}", "missing", b, sizeof(b)),
        "\"[]\""));
    /* a template value is never read as a template again */
    CHECK(!strcmp(arg_of(rt, "{\"count\":5,\"note\":\"{{trigger.action}}\"}",
                         "missing", b, sizeof(b)),
                  "\"[{{trigger.action}}]\""));
}

/* ---- big and deep input ---- */

static char *repeat(const char *head, const char *unit, size_t n,
                    const char *tail)
{
    size_t h = strlen(head), u = strlen(unit), t = strlen(tail);
    char *s = malloc(h + u * n + t + 1), *p = s;
    if (!s)
        return NULL;
    memcpy(p, head, h), p += h;
    for (size_t i = 0; i < n; i++)
        memcpy(p, unit, u), p += u;
    memcpy(p, tail, t + 1);
    return s;
}

static void test_big(struere_runtime *dev, struere_runtime *own)
{
    /* a 4 MiB name, sent into the welcome text */
    char *data = repeat("{\"preferredChannel\":\"whatsapp\",\"name\":\"",
                        "\\\"", 1 << 21, "\"}");
    char *got = data ? fire(dev, "guardian", "created", "g", data, NULL) : NULL;
    struere_json v;
    size_t n = 0;
    CHECK(got &&
          struere_json_get(&v, got, strlen(got), "0.actions.0.args.text",
                           NULL) == 0 &&
          struere_json_string(NULL, 0, &n, v, NULL) == STRUERE_ERANGE &&
          n == (1u << 21) + strlen("Hi , welcome to Acme Tutoring! This is "
                                   "our WhatsApp line: message us any time "
                                   "to check lessons, book a session or "
                                   "ask a question. Your first 45-minute "
                                   "trial lesson is on us."));
    free(data);
    struere_free(got);

    /* a wide object: the condition's key last of 100,000 */
    data =
        repeat("{", "\"k\":0,", 100000, "\"preferredChannel\":\"whatsapp\"}");
    CHECK(data && !strcmp(slugs(dev, "guardian", "created", data, NULL,
                                (char[64]){0}, 64),
                          "welcome-new-family"));
    free(data);

    /* nesting up to the reader's depth fires, and {{trigger.data}}
     * copies it whole (the answer then nests five levels deeper) */
    static const size_t depths[] = {100, 126};
    for (size_t i = 0; i < 2; i++) {
        char *head = repeat("{\"count\":5,\"meta\":", "[", depths[i], "");
        char *tail = repeat("", "]", depths[i], "}");
        char *full =
            head && tail ? malloc(strlen(head) + strlen(tail) + 1) : NULL;
        if (full) {
            strcpy(full, head);
            strcat(full, tail);
        }
        got = full ? fire(own, "widget", "updated", "w", full,
                          "{\"label\":\"old\"}")
                   : NULL;
        CHECKF(got && strstr(got, tail) &&
                   (depths[i] > 120 ||
                    struere_json_get(&v, got, strlen(got), "", NULL) == 0),
               "depth %zu: %d %s", depths[i], last_rc, last_err.message);
        struere_free(got);
        free(head), free(tail), free(full);
    }
    /* past it, the data is not valid JSON */
    char *deep;
    deep = repeat("{\"a\":", "[", 100000, "");
    CHECK(deep && !fire(dev, "guardian", "created", "g", deep, NULL) &&
          last_rc == STRUERE_EJSON);
    free(deep);
}

/* ---- bundles whose automation bodies are not what the compiler
 * writes (their CRCs made right again, so only the body is wrong) ---- */

/* Copies the bundle `src` to `dst` with the first `find` replaced by
 * `repl` (the same length), CRCs recomputed. 0 on success. */
static int patch_bundle(const char *src, const char *dst, const char *find,
                        const char *repl)
{
    FILE *f = fopen(src, "rb");
    unsigned char *b = malloc(1 << 20);
    size_t len = f && b ? fread(b, 1, 1 << 20, f) : 0, n = strlen(find);
    int rc = -1;
    if (f)
        fclose(f);
    unsigned char *at = NULL;
    for (size_t i = 0; !at && n && i + n <= len; i++)
        if (!memcmp(b + i, find, n))
            at = b + i;
    if (at && strlen(repl) == n) {
        memcpy(at, repl, n);
        tb_fix_crcs(b, len);
        f = fopen(dst, "wb");
        if (f) {
            rc = fwrite(b, 1, len, f) == len ? 0 : -1;
            rc = fclose(f) == 0 ? rc : -1;
        }
    }
    free(b);
    return rc;
}

/* Opens the development bundle with one change; NULL (a failed check)
 * when that cannot be done. */
static struere_runtime *open_patched(const char *bundles, const char *tmp,
                                     const char *find, const char *repl)
{
    char src[4096], dst[4096];
    struere_runtime *rt = NULL;
    struere_error err;
    snprintf(src, sizeof(src), "%s/development.stb", bundles);
    snprintf(dst, sizeof(dst), "%s/patched.stb", tmp);
    int ok = patch_bundle(src, dst, find, repl) == 0 &&
             struere_runtime_open_file(&rt, dst, 0, &err) == 0;
    CHECKF(ok, "patching '%s' into '%s'", find, repl);
    return ok ? rt : NULL;
}

/* A corrupt body is refused (ECORRUPT, naming the automation and
 * pointing into the bundle) when it is read: bodies of automations whose
 * `on` does not match the event are not read closely. */
static void test_corrupt(const char *bundles, const char *tmp)
{
    static const struct {
        const char *find, *repl;
        int on_match; /* 1: refused only when the event matches `on` */
    } cases[] = {
        {"\"on\":{\"action\":\"created\",\"condition\":{\"data.status\":"
         "\"pending\"}",
         "\"no\":{\"action\":\"created\",\"condition\":{\"data.status\":"
         "\"pending\"}",
         0},
        {"\"pending\"},\"entityType\":\"payment\"}",
         "\"pending\"},\"entityType\":123456789}", 1},
        {"\"action\":\"created\",\"condition\":{\"data.status\":\"pending\"}",
         "\"action\":\"created\",\"condition\":[\"data.status\",\"pending\"]",
         1},
        {"\"actions\":[{\"args\":{\"id\":\"{{trigger.data.guardianId}}",
         "\"actionz\":[{\"args\":{\"id\":\"{{trigger.data.guardianId}}", 1},
        {"\"name\":\"Send Invoice\"", "\"name\":12345678901234", 1},
        {"\"as\":\"guardian\"", "\"as\":1234567890", 1},
        {"\"retry\":{\"backoffMs\":60000,", "\"retry\":{\"backoffMs\":\"600\",",
         1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struere_runtime *rt =
            open_patched(bundles, tmp, cases[i].find, cases[i].repl);
        if (!rt)
            continue;
        size_t size = 0;
        struere_bundle_bytes(struere_runtime_bundle(rt), &size);
        const char *type = i == 6 ? "guardian" : "payment";
        const char *data =
            i == 6 ? GUARDIAN "\"whatsapp\"}" : PAYMENT "\"pending\"}";
        char *got = fire(rt, type, "created", "x", data, NULL);
        CHECKF(!got && last_rc == STRUERE_ECORRUPT &&
                   strstr(last_err.message,
                          i == 6 ? "welcome-new-family" : "send-invoice") &&
                   last_err.offset > 64 && last_err.offset < size,
               "case %zu: rc %d %s (offset %llu)", i, last_rc, last_err.message,
               (unsigned long long)last_err.offset);
        struere_free(got);
        got = fire(rt, "teacher", "deleted", "x", "{}", NULL);
        CHECKF(cases[i].on_match ? got && !strcmp(got, "[]")
                                 : !got && last_rc == STRUERE_ECORRUPT,
               "case %zu, unmatched event: rc %d", i, last_rc);
        struere_free(got);
        struere_runtime_free(rt);
    }
}

int main(int argc, char **argv)
{
    char dir[256], path[512], cmd[600];
    if (argc < 3) {
        printf("usage: automation BUNDLE_DIR STRUERE\n");
        return 2;
    }
    struere_runtime *dev = engine_open(argv[1], "development");
    struere_runtime *prod = engine_open(argv[1], "production");
    struere_runtime *eval = engine_open(argv[1], "eval");
    test_example(dev, prod);
    test_errors(dev, eval);

    struere_runtime *own = NULL;
    struere_error err;
    int built = build_project(argv[2], dir, sizeof(dir)) == 0;
    CHECKF(built, "could not build the test project in %s", dir);
    if (built) {
        snprintf(path, sizeof(path), "%s/out/development.stb", dir);
        CHECKF(struere_runtime_open_file(&own, path, 0, &err) == 0, "%s",
               err.message);
    }
    if (own) {
        test_own(own);
        test_big(dev, own);
    }
    if (built)
        test_corrupt(argv[1], dir);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (built && system(cmd) != 0)
        printf("note: could not remove %s\n", dir);

    struere_runtime_free(own);
    struere_runtime_free(dev);
    struere_runtime_free(prod);
    struere_runtime_free(eval);
    return ENGINE_DONE("automation");
}
