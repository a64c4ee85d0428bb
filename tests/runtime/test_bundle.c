/*
 * test_bundle.c - the bundle reader and verifier: valid bundles of each
 * environment open and answer lookups; every rule of BUNDLE.md is refused
 * alone; and, exhaustively, every single-byte change and every truncation
 * of small valid bundles is refused. `--write-seeds DIR` writes the fuzz
 * seed corpus (tests/fuzz/corpus-bundle/) instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder.h"
#include "rt_harness.h"
#include "struere.h"
/* the compiler's internal opens (not public API) */
#include "../../runtime/src/rt_bundle_trust.h"

int rt_passed, rt_failed;

enum { AGENT, DATA, ROLE, TOOL, AUTO, EVAL, FIXT };

static const struct tb_entry agents[] = {
    {"billing-assistant", "{\"name\":\"Billing\",\"tools\":[]}"},
    {"front-desk", "{\"name\":\"Front desk \xc3\xa9t\xc3\xa9\"}"},
    {"scheduler", "{\"name\":\"Scheduler\",\"model\":{\"name\":\"x\"}}"},
};
static const struct tb_entry data_types[] = {
    {"session", "{\"name\":\"Session\"}"},
    {"student", "{\"name\":\"Student\"}"},
};
static const struct tb_entry roles[] = {
    {"guardian", "{\"slug\":\"guardian\"}"},
};
static const struct tb_entry tools[] = {
    {"price_list", "{\"name\":\"price_list\"}"},
};
static const struct tb_entry automations[] = {
    {"send-invoice", "{\"on\":\"session.completed\"}"},
    {"welcome", "{\"on\":\"student.created\"}"},
};
static const struct tb_entry evals[] = {
    {"front-desk-basics", "{\"cases\":[]}"},
};
static const struct tb_entry fixtures[] = {
    {"austin", "{\"records\":[{\"_id\":\"a\"}]}"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A small bundle of environment `env` with a few entries of each kind. */
static struct tb_spec small_spec(int env)
{
    struct tb_spec s;
    memset(&s, 0, sizeof(s));
    s.env = env;
    s.meta[0] = "tutoring";
    s.meta[1] = "1.2.0";
    s.meta[2] = "org_123";
    s.meta[3] = "Tutoring Co";
    s.meta[4] = "struere 0.1.0";
    s.entries[AGENT] = agents;
    s.counts[AGENT] = N(agents);
    s.entries[DATA] = data_types;
    s.counts[DATA] = N(data_types);
    s.entries[ROLE] = roles;
    s.counts[ROLE] = N(roles);
    s.entries[TOOL] = tools;
    s.counts[TOOL] = N(tools);
    s.entries[AUTO] = automations;
    s.counts[AUTO] = N(automations);
    s.entries[EVAL] = evals;
    s.counts[EVAL] = N(evals);
    s.entries[FIXT] = fixtures;
    s.counts[FIXT] = N(fixtures);
    return s;
}

static unsigned char *build_env(int env, size_t *len)
{
    struct tb_spec s = small_spec(env);
    return tb_build(&s, len);
}

/* Verifies and checks the code, that *err agrees, and a message exists. */
static int refused_with(const unsigned char *b, size_t len, int env, int code)
{
    struere_error err;
    int rc = struere_bundle_verify(b, len, env, &err);
    if (rc != code || err.code != code || !err.message[0]) {
        fprintf(stderr, "  expected %d, got %d: %s\n", code, rc, err.message);
        return 0;
    }
    return 1;
}

static void test_names(void)
{
    CHECK(strcmp(struere_strerror(STRUERE_OK), "success") == 0);
    for (int c = STRUERE_ETRUST; c < 0; c++) {
        CHECK(struere_strerror(c)[0] != '\0');
        CHECK(strcmp(struere_strerror(c), "unknown error") != 0);
        for (int d = c + 1; d < 0; d++)
            CHECK(strcmp(struere_strerror(c), struere_strerror(d)) != 0);
    }
    CHECK(strcmp(struere_strerror(STRUERE_ETRUST - 1), "unknown error") == 0);
    CHECK(strcmp(struere_strerror(-99), "unknown error") == 0);
    CHECK(strcmp(struere_strerror(5), "unknown error") == 0);
    CHECK(strcmp(struere_env_name(STRUERE_ENV_DEVELOPMENT), "development") ==
          0);
    CHECK(strcmp(struere_env_name(STRUERE_ENV_PRODUCTION), "production") == 0);
    CHECK(strcmp(struere_env_name(STRUERE_ENV_EVAL), "eval") == 0);
    CHECK(struere_env_name(0) == NULL && struere_env_name(4) == NULL);
    static const char *const kinds[] = {"agent",      "data", "role",   "tool",
                                        "automation", "eval", "fixture"};
    for (int k = 0; k < STRUERE_KIND_COUNT; k++)
        CHECK(strcmp(struere_kind_name(k), kinds[k]) == 0);
    CHECK(struere_kind_name(-1) == NULL && struere_kind_name(7) == NULL);
}

/* Each environment's bundle verifies and opens, with the right kinds. */
static void test_valid(void)
{
    for (int env = 1; env <= 3; env++) {
        size_t len;
        unsigned char *b = build_env(env, &len);
        struere_error err;
        CHECK(b != NULL);
        CHECK(struere_bundle_verify(b, len, 0, &err) == 0);
        CHECK(err.code == 0 && err.message[0] == '\0');
        CHECK(struere_bundle_verify(b, len, env, NULL) == 0);
        struere_bundle *h = NULL;
        CHECK(struere_bundle_open_memory(&h, b, len, env, &err) == 0);
        CHECK(h != NULL);
        /* The handle owns a copy: the caller's bytes can go. */
        memset(b, 0xEE, len);
        free(b);
        size_t blen = 0;
        const unsigned char *bytes = struere_bundle_bytes(h, &blen);
        CHECK(bytes && blen == len);
        CHECK(bytes && memcmp(bytes, "STRBUND", 8) == 0);
        CHECK(struere_bundle_verify(bytes, blen, env, NULL) == 0);
        CHECK(struere_bundle_count(h, STRUERE_KIND_AGENT) == N(agents));
        CHECK(struere_bundle_count(h, STRUERE_KIND_DATA) == N(data_types));
        CHECK(struere_bundle_count(h, STRUERE_KIND_ROLE) == N(roles));
        CHECK(struere_bundle_count(h, STRUERE_KIND_TOOL) == N(tools));
        CHECK(struere_bundle_count(h, STRUERE_KIND_AUTOMATION) ==
              (env == 3 ? 0 : N(automations)));
        CHECK(struere_bundle_count(h, STRUERE_KIND_EVAL) ==
              (env == 3 ? N(evals) : 0));
        CHECK(struere_bundle_count(h, STRUERE_KIND_FIXTURE) ==
              (env == 3 ? N(fixtures) : 0));
        CHECK(struere_bundle_count(h, 7) == 0);
        CHECK(struere_bundle_count(h, -1) == 0);
        CHECK(struere_bundle_count(NULL, 0) == 0);
        struere_bundle_free(h);
    }
}

static void test_info(void)
{
    size_t len;
    unsigned char *b = build_env(STRUERE_ENV_PRODUCTION, &len);
    struere_bundle *h;
    CHECK(struere_bundle_open_memory(&h, b, len, 0, NULL) == 0);
    struere_bundle_info info;
    CHECK(struere_bundle_get_info(&info, h, NULL) == 0);
    CHECK(info.major == 1 && info.minor == 0);
    CHECK(info.environment == STRUERE_ENV_PRODUCTION);
    CHECK(info.size == len);
    CHECK(memcmp(info.source_digest, b + 32, 32) == 0);
    CHECK(strcmp(info.project_name, "tutoring") == 0);
    CHECK(strcmp(info.project_version, "1.2.0") == 0);
    CHECK(strcmp(info.organization_id, "org_123") == 0);
    CHECK(strcmp(info.organization_name, "Tutoring Co") == 0);
    CHECK(strcmp(info.compiler_version, "struere 0.1.0") == 0);
    size_t want[7] = {
        N(agents), N(data_types), N(roles), N(tools), N(automations), 0, 0};
    for (int k = 0; k < 7; k++)
        CHECK(info.counts[k] == want[k]);
    CHECK(struere_bundle_get_info(&info, NULL, NULL) == STRUERE_EINVAL);
    CHECK(struere_bundle_get_info(NULL, h, NULL) == STRUERE_EINVAL);
    struere_bundle_free(h);

    /* Absent META strings are empty, not NULL. */
    struct tb_spec s = small_spec(STRUERE_ENV_EVAL);
    memset(s.meta, 0, sizeof(s.meta));
    s.meta[0] = s.meta[3] = "p";
    unsigned char *e = tb_build(&s, &len);
    CHECK(struere_bundle_open_memory(&h, e, len, STRUERE_ENV_EVAL, NULL) == 0);
    CHECK(struere_bundle_get_info(&info, h, NULL) == 0);
    CHECK(strcmp(info.project_version, "") == 0);
    CHECK(strcmp(info.organization_id, "") == 0);
    CHECK(strcmp(info.compiler_version, "") == 0);
    CHECK(strcmp(info.organization_name, "p") == 0);
    CHECK(info.counts[STRUERE_KIND_EVAL] == 1 && info.counts[4] == 0);
    struere_bundle_free(h);
    free(e);
    free(b);
}

static void test_lookup(void)
{
    size_t len, n;
    unsigned char *b = build_env(STRUERE_ENV_DEVELOPMENT, &len);
    struere_bundle *h;
    const char *body, *slug;
    CHECK(struere_bundle_open_memory(&h, b, len, STRUERE_ENV_DEVELOPMENT,
                                     NULL) == 0);
    free(b);
    /* Every entry, by index and by slug. */
    const struct tb_entry *all[] = {agents, data_types, roles, tools,
                                    automations};
    size_t counts[] = {N(agents), N(data_types), N(roles), N(tools),
                       N(automations)};
    for (int k = 0; k < 5; k++) {
        for (size_t i = 0; i < counts[k]; i++) {
            body = slug = NULL;
            n = 0;
            CHECK(struere_bundle_entry(&slug, &body, &n, h, k, i, NULL) == 0);
            CHECK(slug && strcmp(slug, all[k][i].slug) == 0);
            CHECK(body && strcmp(body, all[k][i].body) == 0);
            CHECK(n == strlen(all[k][i].body));
            body = NULL;
            CHECK(struere_bundle_lookup(&body, &n, h, k, all[k][i].slug,
                                        NULL) == 0);
            CHECK(body && strcmp(body, all[k][i].body) == 0 &&
                  n == strlen(body));
        }
        CHECK(struere_bundle_entry(&slug, NULL, NULL, h, k, counts[k], NULL) ==
              STRUERE_ENOTFOUND);
    }
    /* First and last; NULL outputs. */
    CHECK(struere_bundle_lookup(NULL, NULL, h, STRUERE_KIND_AGENT,
                                "billing-assistant", NULL) == 0);
    CHECK(struere_bundle_lookup(NULL, &n, h, STRUERE_KIND_AGENT, "scheduler",
                                NULL) == 0 &&
          n == strlen(agents[2].body));
    CHECK(struere_bundle_entry(NULL, NULL, NULL, h, STRUERE_KIND_AGENT, 0,
                               NULL) == 0);
    /* Absent: before, between, after, prefixes and extensions. */
    const char *absent[] = {
        "",    "a",         "billing",     "billing-assistant-2",
        "c",   "front-des", "front-desk ", "scheduler2",
        "zzz", "SCHEDULER"};
    for (size_t i = 0; i < N(absent); i++) {
        body = "untouched";
        CHECK(struere_bundle_lookup(&body, &n, h, STRUERE_KIND_AGENT, absent[i],
                                    NULL) == STRUERE_ENOTFOUND);
        CHECK(strcmp(body, "untouched") == 0);
    }
    /* A slug of another kind is not found in this one. */
    CHECK(struere_bundle_lookup(NULL, NULL, h, STRUERE_KIND_ROLE, "scheduler",
                                NULL) == STRUERE_ENOTFOUND);
    /* Kinds absent from development. */
    CHECK(struere_bundle_lookup(NULL, NULL, h, STRUERE_KIND_EVAL,
                                "front-desk-basics",
                                NULL) == STRUERE_ENOTFOUND);
    CHECK(struere_bundle_lookup(NULL, NULL, h, STRUERE_KIND_FIXTURE, "austin",
                                NULL) == STRUERE_ENOTFOUND);
    CHECK(struere_bundle_entry(NULL, NULL, NULL, h, STRUERE_KIND_FIXTURE, 0,
                               NULL) == STRUERE_ENOTFOUND);
    /* Bad arguments. */
    CHECK(struere_bundle_lookup(NULL, NULL, h, 7, "scheduler", NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_bundle_lookup(NULL, NULL, h, -1, "scheduler", NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_bundle_lookup(NULL, NULL, h, 0, NULL, NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_bundle_lookup(NULL, NULL, NULL, 0, "x", NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_bundle_entry(NULL, NULL, NULL, NULL, 0, 0, NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_bundle_entry(NULL, NULL, NULL, h, 9, 0, NULL) ==
          STRUERE_EINVAL);
    CHECK(struere_bundle_bytes(NULL, &n) == NULL);
    struere_bundle_free(h);

    /* An eval bundle has suites and fixtures but no automations. */
    b = build_env(STRUERE_ENV_EVAL, &len);
    CHECK(struere_bundle_open_memory(&h, b, len, STRUERE_ENV_EVAL, NULL) == 0);
    free(b);
    CHECK(struere_bundle_lookup(&body, NULL, h, STRUERE_KIND_EVAL,
                                "front-desk-basics", NULL) == 0 &&
          strcmp(body, evals[0].body) == 0);
    CHECK(struere_bundle_lookup(&body, NULL, h, STRUERE_KIND_FIXTURE, "austin",
                                NULL) == 0 &&
          strcmp(body, fixtures[0].body) == 0);
    CHECK(struere_bundle_lookup(NULL, NULL, h, STRUERE_KIND_AUTOMATION,
                                "welcome", NULL) == STRUERE_ENOTFOUND);
    struere_bundle_free(h);
}

/* A bigger table, empty tables, and interned (shared) strings. */
static void test_many(void)
{
    enum { MANY = 500 };
    static char slugs[MANY][24], bodies[MANY][32];
    static struct tb_entry e[MANY];
    for (int i = 0; i < MANY; i++) {
        snprintf(slugs[i], sizeof(slugs[i]), "agent-%04d", i * 3);
        snprintf(bodies[i], sizeof(bodies[i]), "{\"n\":%d}", i % 7);
        e[i].slug = slugs[i];
        e[i].body = bodies[i];
    }
    struct tb_spec s;
    memset(&s, 0, sizeof(s));
    s.env = STRUERE_ENV_PRODUCTION;
    s.meta[0] = "p";
    s.entries[AGENT] = e;
    s.counts[AGENT] = MANY;
    size_t len;
    unsigned char *b = tb_build(&s, &len);
    struere_bundle *h;
    CHECK(struere_bundle_open_memory(&h, b, len, 0, NULL) == 0);
    free(b);
    int ok = 1;
    char probe[24];
    for (int i = 0; i < MANY * 3 + 3; i++) {
        const char *body = NULL;
        snprintf(probe, sizeof(probe), "agent-%04d", i);
        int rc = struere_bundle_lookup(&body, NULL, h, 0, probe, NULL);
        if (i % 3 == 0 && i / 3 < MANY)
            ok &= rc == 0 && strcmp(body, bodies[i / 3]) == 0;
        else
            ok &= rc == STRUERE_ENOTFOUND;
    }
    CHECK(ok);
    for (int k = 1; k < 5; k++) {
        CHECK(struere_bundle_count(h, k) == 0);
        CHECK(struere_bundle_lookup(NULL, NULL, h, k, "agent-0000", NULL) ==
              STRUERE_ENOTFOUND);
        CHECK(struere_bundle_entry(NULL, NULL, NULL, h, k, 0, NULL) ==
              STRUERE_ENOTFOUND);
    }
    struere_bundle_free(h);
}

static void test_env_and_version(void)
{
    for (int env = 1; env <= 3; env++) {
        size_t len;
        unsigned char *b = build_env(env, &len);
        for (int want = 1; want <= 3; want++) {
            if (want == env)
                continue;
            struere_error err;
            CHECK(struere_bundle_verify(b, len, want, &err) == STRUERE_EENV);
            CHECK(err.offset == 12 && strstr(err.message, "expected"));
            struere_bundle *h = (struere_bundle *)&err;
            CHECK(struere_bundle_open_memory(&h, b, len, want, NULL) ==
                  STRUERE_EENV);
            CHECK(h == NULL);
        }
        CHECK(refused_with(b, len, 4, STRUERE_EINVAL));
        CHECK(refused_with(b, len, -1, STRUERE_EINVAL));
        free(b);
    }

    /* An invalid environment byte, even with a correct header CRC. */
    size_t len;
    unsigned char *b = build_env(1, &len);
    unsigned char values[] = {0, 4, 0xFF};
    for (size_t i = 0; i < sizeof(values); i++) {
        b[12] = values[i];
        tb_fix_crcs(b, len);
        CHECK(refused_with(b, len, 0, STRUERE_EENV));
    }
    free(b);

    /* Unknown majors are refused; a higher minor with a section this
     * reader does not know is accepted. */
    struct tb_spec s = small_spec(2);
    unsigned majors[] = {2, 3, 0x100, 0xFFFF};
    for (size_t i = 0; i < N(majors); i++) {
        s.major = majors[i];
        b = tb_build(&s, &len);
        struere_error err;
        CHECK(struere_bundle_verify(b, len, 0, &err) == STRUERE_EVERSION);
        CHECK(err.offset == 8 && strstr(err.message, "version"));
        free(b);
    }
    s.major = 1;
    b = tb_build(&s, &len);
    b[8] = 0;
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_EVERSION));
    free(b);
    s.minor = 7;
    s.extra_id = "ZNEW";
    s.extra_data = "a section from a newer minor version";
    b = tb_build(&s, &len);
    struere_bundle *h;
    CHECK(struere_bundle_open_memory(&h, b, len, 2, NULL) == 0);
    struere_bundle_info info;
    CHECK(struere_bundle_get_info(&info, h, NULL) == 0 && info.minor == 7);
    CHECK(struere_bundle_lookup(NULL, NULL, h, 0, "front-desk", NULL) == 0);
    struere_bundle_free(h);
    free(b);
}

/* A copy of a small valid bundle to break one rule in. */
static unsigned char *fresh(size_t *len)
{
    return build_env(STRUERE_ENV_DEVELOPMENT, len);
}

static void set_section(unsigned char *b, const char *id, uint64_t off,
                        uint64_t size)
{
    size_t e = tb_find(b, id);
    tb_put64(b + e + 8, off);
    tb_put64(b + e + 16, size);
}

/* Each rule of BUNDLE.md broken alone, CRCs kept right where that is
 * possible, is refused with its own code. */
static void test_rules(void)
{
    size_t len;
    unsigned char *b;
    struere_error err;

    /* 1. Size, magic. */
    b = fresh(&len);
    CHECK(refused_with(NULL, 0, 0, STRUERE_ETRUNCATED));
    CHECK(refused_with(NULL, 5, 0, STRUERE_EINVAL));
    CHECK(refused_with(b, 63, 0, STRUERE_ETRUNCATED));
    CHECK(refused_with((const unsigned char *)"hello", 5, 0, STRUERE_EFORMAT));
    b[3] = 'X';
    CHECK(refused_with(b, len, 0, STRUERE_EFORMAT));
    CHECK(struere_bundle_verify(b, len, 0, &err) && err.offset == 3);
    free(b);
    b = fresh(&len);
    b[7] = '\n';
    CHECK(refused_with(b, len, 0, STRUERE_EFORMAT));
    free(b);

    /* 2. total_size: truncated or trailing bytes. */
    b = fresh(&len);
    CHECK(struere_bundle_verify(b, len - 8, 0, &err) == STRUERE_ETRUNCATED);
    CHECK(strstr(err.message, "truncated") && err.offset == len - 8);
    unsigned char *more = calloc(1, len + 1);
    memcpy(more, b, len);
    CHECK(struere_bundle_verify(more, len + 1, 0, &err) == STRUERE_ETRUNCATED);
    CHECK(strstr(err.message, "trailing") && err.offset == len);
    free(more);
    tb_put64(b + 24, (uint64_t)len + 8);
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ETRUNCATED));
    tb_put64(b + 24, UINT64_MAX);
    CHECK(refused_with(b, len, 0, STRUERE_ETRUNCATED));
    free(b);

    /* 3. reserved header bytes. */
    b = fresh(&len);
    b[14] = 1;
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);

    /* 4. section count and table; header CRC. */
    uint32_t counts[] = {0, 33, 0xFFFFFFFF, 1000};
    for (size_t i = 0; i < N(counts); i++) {
        b = fresh(&len);
        tb_put32(b + 16, counts[i]);
        tb_fix_crcs(b, len);
        CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
        free(b);
    }
    b = fresh(&len);
    b[40] ^= 1; /* the source digest is covered by the header CRC */
    CHECK(refused_with(b, len, 0, STRUERE_ECHECKSUM));
    CHECK(struere_bundle_verify(b, len, 0, &err) && err.offset == 20 &&
          strstr(err.message, "header CRC mismatch (stored 0x"));
    free(b);

    /* 5. sections: alignment, bounds, order, overlap, padding, CRC. */
    b = fresh(&len);
    size_t meta = tb_find(b, "META"), agnt = tb_find(b, "AGNT");
    uint64_t moff = tb_get64(b + meta + 8);
    uint64_t aoff = tb_get64(b + agnt + 8);
    set_section(b, "META", moff + 4, 40);
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    CHECK(struere_bundle_verify(b, len, 0, &err) &&
          strstr(err.message, "multiple of 8"));
    free(b);
    uint64_t bad_ranges[][2] = {
        {0, 40},                /* over the header */
        {64, 40},               /* over the table */
        {UINT64_MAX - 7, 40},   /* offset + size overflows */
        {8, UINT64_MAX},        /* size overflows */
        {(uint64_t)1 << 63, 8}, /* far past the end */
    };
    for (size_t i = 0; i < N(bad_ranges); i++) {
        b = fresh(&len);
        set_section(b, "META", bad_ranges[i][0], bad_ranges[i][1]);
        tb_fix_crcs(b, len);
        CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
        free(b);
    }
    b = fresh(&len);
    /* DATA (third) placed before AGNT (second): not sorted. */
    set_section(b, "DATA", moff, tb_get64(b + tb_find(b, "DATA") + 16));
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    CHECK(struere_bundle_verify(b, len, 0, &err) &&
          strstr(err.message, "sorted"));
    free(b);
    b = fresh(&len);
    set_section(b, "META", moff, aoff - moff + 8); /* overlaps AGNT */
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    CHECK(struere_bundle_verify(b, len, 0, &err) &&
          strstr(err.message, "overlaps"));
    free(b);
    b = fresh(&len);
    set_section(b, "META", moff, 32); /* leaves 8 bytes unaccounted */
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);
    b = fresh(&len);
    size_t strs = tb_find(b, "STRS"); /* the last section */
    uint64_t soff = tb_get64(b + strs + 8), ssize = tb_get64(b + strs + 16);
    CHECK(soff + ssize < len); /* the test needs some tail padding */
    b[len - 1] = 1;
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    CHECK(struere_bundle_verify(b, len, 0, &err) && err.offset == len - 1 &&
          strstr(err.message, "padding"));
    free(b);
    b = fresh(&len);
    size_t role = tb_find(b, "ROLE");
    b[tb_get64(b + role + 8) + 9] ^= 0x40;
    CHECK(refused_with(b, len, 0, STRUERE_ECHECKSUM));
    CHECK(struere_bundle_verify(b, len, 0, &err) &&
          err.offset == tb_get64(b + role + 8) &&
          strstr(err.message, "section ROLE at offset") &&
          strstr(err.message, "CRC mismatch (stored 0x"));
    free(b);
    b = fresh(&len);
    memcpy(b + tb_find(b, "DATA"), "AGNT", 4); /* duplicate id */
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);
    b = fresh(&len);
    b[tb_find(b, "DATA")] = 0x01; /* non-printable id */
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);

    /* 6. required and forbidden sections. */
    struct tb_spec s = small_spec(STRUERE_ENV_DEVELOPMENT);
    s.omit_strs = 1;
    b = tb_build(&s, &len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);
    s = small_spec(STRUERE_ENV_EVAL);
    s.omit_meta = 1;
    b = tb_build(&s, &len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);
    for (int env = 1; env <= 3; env++) {
        for (int k = 0; k < 7; k++) {
            s = small_spec(env);
            int allowed = k < 4 || (k == 4 ? env != 3 : env == 3);
            if (allowed)
                s.omit_kind[k] = 1;
            else
                s.force_kind[k] = 1;
            b = tb_build(&s, &len);
            CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
            CHECK(struere_bundle_verify(b, len, 0, &err) &&
                  strstr(err.message, allowed ? "missing" : "not allowed"));
            free(b);
        }
    }

    /* META size; table size against count; the reserved field. */
    b = fresh(&len);
    set_section(b, "META", moff, 48);
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);
    b = fresh(&len);
    tb_put32(b + aoff, 2); /* three agents written */
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    CHECK(struere_bundle_verify(b, len, 0, &err) &&
          strstr(err.message, "does not match its count"));
    tb_put32(b + aoff, 0x10000001); /* count * 16 wraps in 32 bits */
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);
    b = fresh(&len);
    b[aoff + 5] = 1;
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);
    b = fresh(&len);
    set_section(b, "ROLE", tb_get64(b + tb_find(b, "ROLE") + 8), 4);
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    free(b);

    /* String references. */
    struct {
        uint32_t off, len;
    } refs[] = {
        {0xFFFFFFFF, 1}, {1, 0xFFFFFFFF}, {0xFFFFFFF0, 0x20}, {0, 0}, {0, 3}};
    for (size_t i = 0; i < N(refs); i++) {
        b = fresh(&len);
        strs = tb_find(b, "STRS");
        soff = tb_get64(b + strs + 8);
        ssize = tb_get64(b + strs + 16);
        uint32_t off = refs[i].off, n = refs[i].len;
        if (i == 3)
            off = (uint32_t)ssize; /* just past the pool */
        tb_put32(b + aoff + 8, off);
        tb_put32(b + aoff + 12, n);
        tb_fix_crcs(b, len);
        CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
        free(b);
    }
    /* At the end of the pool: the empty string at its last byte (the
     * last NUL) and the last character are fine; one byte more is not,
     * as the NUL after it would be past the pool. */
    uint32_t tail_refs[][3] = {{1, 0, 0}, {2, 1, 0}, {1, 1, 1}, {0, 0, 1}};
    for (size_t i = 0; i < N(tail_refs); i++) {
        b = fresh(&len);
        ssize = tb_get64(b + tb_find(b, "STRS") + 16);
        tb_put32(b + moff + 8, (uint32_t)ssize - tail_refs[i][0]);
        tb_put32(b + moff + 12, tail_refs[i][1]);
        tb_fix_crcs(b, len);
        if (tail_refs[i][2])
            CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
        else
            CHECK(struere_bundle_verify(b, len, 0, NULL) == 0);
        free(b);
    }

    /* Bad UTF-8 and NULs in strings, with valid CRCs. */
    const char *bad_utf8[] = {"\xC0\xAF",
                              "\xE0\x80\xAF",
                              "\xED\xA0\x80",
                              "\xF4\x90\x80\x80",
                              "\xF8\x88\x80\x80",
                              "x\x80",
                              "\xC3",
                              "\xE2\x82",
                              "\xFF"};
    for (size_t i = 0; i < N(bad_utf8); i++) {
        struct tb_entry one = {"a", bad_utf8[i]};
        s = small_spec(STRUERE_ENV_PRODUCTION);
        s.entries[ROLE] = &one;
        b = tb_build(&s, &len);
        CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
        CHECK(struere_bundle_verify(b, len, 0, &err) &&
              strstr(err.message, "UTF-8"));
        free(b);
    }
    const char *good_utf8[] = {
        "\xC2\x80",         "\xE0\xA0\x80",     "\xED\x9F\xBF", "\xEE\x80\x80",
        "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "\x7F"};
    for (size_t i = 0; i < N(good_utf8); i++) {
        struct tb_entry one = {good_utf8[i], good_utf8[i]};
        s = small_spec(STRUERE_ENV_PRODUCTION);
        s.entries[ROLE] = &one;
        b = tb_build(&s, &len);
        CHECK(struere_bundle_verify(b, len, 0, NULL) == 0);
        free(b);
    }
    b = fresh(&len);
    strs = tb_find(b, "STRS");
    soff = tb_get64(b + strs + 8);
    /* The first string is the project name, "tutoring": widen the second
     * reference to cover its NUL. */
    tb_put32(b + moff + 8, 0);
    tb_put32(b + moff + 12,
             (uint32_t)strlen("tutoring") + 1 + (uint32_t)strlen("1.2.0"));
    tb_fix_crcs(b, len);
    CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
    CHECK(struere_bundle_verify(b, len, 0, &err) &&
          strstr(err.message, "NUL") && err.offset == soff + 8);
    free(b);

    /* Slugs strictly sorted, byte-wise. */
    const struct tb_entry unsorted[][2] = {
        {{"b", "{}"}, {"a", "{}"}},
        {{"a", "{}"}, {"a", "{}"}},
        {{"ab", "{}"}, {"a", "{}"}},
        {{"\xC3\xA9", "{}"}, {"z", "{}"}},
    };
    for (size_t i = 0; i < N(unsorted); i++) {
        s = small_spec(STRUERE_ENV_EVAL);
        s.entries[FIXT] = unsorted[i];
        s.counts[FIXT] = 2;
        b = tb_build(&s, &len);
        CHECK(refused_with(b, len, 0, STRUERE_ECORRUPT));
        CHECK(struere_bundle_verify(b, len, 0, &err) &&
              strstr(err.message, "does not sort after"));
        free(b);
    }
    const struct tb_entry sorted[] = {{"", "{}"},  {"A", "{}"},
                                      {"a", "{}"}, {"a-", "{}"},
                                      {"z", "{}"}, {"\xC3\xA9", "{}"}};
    s = small_spec(STRUERE_ENV_EVAL);
    s.entries[FIXT] = sorted;
    s.counts[FIXT] = N(sorted);
    b = tb_build(&s, &len);
    struere_bundle *h;
    CHECK(struere_bundle_open_memory(&h, b, len, 3, NULL) == 0);
    for (size_t i = 0; i < N(sorted); i++)
        CHECK(struere_bundle_lookup(NULL, NULL, h, STRUERE_KIND_FIXTURE,
                                    sorted[i].slug, NULL) == 0);
    struere_bundle_free(h);
    free(b);
}

/*
 * Every single-byte change (each position, each of the 255 other values),
 * every truncation and one appended byte, of the bundle built from `spec`:
 * all must be refused with a code and a message. Returns how many were
 * accepted (0 is right) and prints the first few.
 */
static size_t exhaustive(const struct tb_spec *spec, const char *name)
{
    size_t len, accepted = 0, tried = 0;
    unsigned char *b = tb_build(spec, &len);
    unsigned char *copy = malloc(len + 1);
    struere_error err;
    if (!b || !copy || struere_bundle_verify(b, len, 0, NULL) != 0) {
        free(b);
        free(copy);
        return (size_t)-1;
    }
    memcpy(copy, b, len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned v = 0; v < 256; v++) {
            if (v == b[i])
                continue;
            copy[i] = (unsigned char)v;
            int rc = struere_bundle_verify(copy, len, 0, &err);
            tried++;
            if (rc >= 0 || err.code != rc || !err.message[0]) {
                if (accepted++ < 5)
                    fprintf(stderr,
                            "  %s: byte %zu 0x%02x -> 0x%02x accepted (%d)\n",
                            name, i, b[i], v, rc);
            }
        }
        copy[i] = b[i];
    }
    for (size_t n = 0; n < len; n++) {
        int rc = struere_bundle_verify(b, n, 0, &err);
        tried++;
        if (rc >= 0 || err.code != rc || !err.message[0]) {
            if (accepted++ < 5)
                fprintf(stderr, "  %s: truncation to %zu accepted\n", name, n);
        }
    }
    for (unsigned v = 0; v < 256; v += 255) {
        copy[len] = (unsigned char)v;
        tried++;
        if (struere_bundle_verify(copy, len + 1, 0, &err) >= 0 &&
            accepted++ < 5)
            fprintf(stderr, "  %s: appended byte accepted\n", name);
    }
    printf("  exhaustive %s: %zu bytes, %zu variants, %zu accepted\n", name,
           len, tried, accepted);
    free(b);
    free(copy);
    return accepted;
}

static void test_exhaustive(void)
{
    struct tb_spec dev = small_spec(STRUERE_ENV_DEVELOPMENT);
    CHECK(exhaustive(&dev, "development") == 0);
    struct tb_spec ev = small_spec(STRUERE_ENV_EVAL);
    ev.minor = 3;
    ev.extra_id = "ZNEW";
    ev.extra_data = "newer";
    CHECK(exhaustive(&ev, "eval+extra") == 0);
}

static void test_open(void)
{
    size_t len;
    unsigned char *b = fresh(&len);
    struere_bundle *h = (struere_bundle *)b;
    struere_error err;
    /* Failure leaves *out NULL. */
    CHECK(struere_bundle_open_memory(&h, b, len - 1, 0, &err) ==
          STRUERE_ETRUNCATED);
    CHECK(h == NULL && err.code == STRUERE_ETRUNCATED);
    h = (struere_bundle *)b;
    CHECK(struere_bundle_open_memory(&h, NULL, 0, 0, NULL) ==
          STRUERE_ETRUNCATED);
    CHECK(h == NULL);
    CHECK(struere_bundle_open_memory(NULL, b, len, 0, &err) == STRUERE_EINVAL);
    struere_bundle_free(NULL);

    /* From a file. */
    char path[] = "/tmp/struere-rt-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, b, len) == (ssize_t)len);
        close(fd);
        CHECK(struere_bundle_open_file(&h, path, STRUERE_ENV_DEVELOPMENT,
                                       &err) == 0);
        CHECK(h &&
              struere_bundle_lookup(NULL, NULL, h, 0, "front-desk", NULL) == 0);
        struere_bundle_free(h);
        h = (struere_bundle *)b;
        CHECK(struere_bundle_open_file(&h, path, STRUERE_ENV_PRODUCTION,
                                       &err) == STRUERE_EENV);
        CHECK(h == NULL);
        /* One byte more on disk. */
        FILE *f = fopen(path, "ab");
        CHECK(f && fputc(0, f) == 0 && fclose(f) == 0);
        CHECK(struere_bundle_open_file(&h, path, 0, &err) ==
              STRUERE_ETRUNCATED);
        unlink(path);
    }
    h = (struere_bundle *)b;
    CHECK(struere_bundle_open_file(&h, "/nonexistent/x.stb", 0, &err) ==
          STRUERE_EIO);
    CHECK(h == NULL && strstr(err.message, "/nonexistent/x.stb") &&
          strstr(err.message, "No such file"));
    CHECK(struere_bundle_open_file(&h, "/tmp", 0, &err) == STRUERE_EIO);
    CHECK(struere_bundle_open_file(&h, NULL, 0, &err) == STRUERE_EINVAL);
    CHECK(struere_bundle_open_file(NULL, "/tmp", 0, &err) == STRUERE_EINVAL);
    CHECK(struere_bundle_open_file(&h, "/dev/null", 0, &err) ==
          STRUERE_ETRUNCATED);
    free(b);
}

/* Writes the fuzz seed corpus: one valid bundle of each kind of shape. */
static int write_seeds(const char *dir)
{
    struct {
        const char *name;
        struct tb_spec spec;
    } seeds[5];
    seeds[0].name = "development.stb";
    seeds[0].spec = small_spec(STRUERE_ENV_DEVELOPMENT);
    seeds[1].name = "production.stb";
    seeds[1].spec = small_spec(STRUERE_ENV_PRODUCTION);
    seeds[2].name = "eval.stb";
    seeds[2].spec = small_spec(STRUERE_ENV_EVAL);
    seeds[3].name = "empty-tables.stb";
    memset(&seeds[3].spec, 0, sizeof(seeds[3].spec));
    seeds[3].spec.env = STRUERE_ENV_PRODUCTION;
    seeds[3].spec.meta[0] = seeds[3].spec.meta[3] = "empty";
    seeds[4].name = "newer-minor.stb";
    seeds[4].spec = small_spec(STRUERE_ENV_EVAL);
    seeds[4].spec.minor = 2;
    seeds[4].spec.extra_id = "ZNEW";
    seeds[4].spec.extra_data = "a section from a newer minor";
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    for (size_t i = 0; i < N(seeds); i++) {
        char path[4096];
        size_t len;
        unsigned char *b = tb_build(&seeds[i].spec, &len);
        snprintf(path, sizeof(path), "%s/%s", dir, seeds[i].name);
        FILE *f = fopen(path, "wb");
        if (!b || !f || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
            perror(path);
            free(b);
            return 1;
        }
        free(b);
    }
    return 0;
}

/* rt_bundle_open_recorded: bytes the caller matched with a store's
 * record of them as verified whole. What the record vouches for is not
 * computed again (a section CRC); the layout and every reference's
 * bounds still are, so no byte outside the bundle is read. */
static void test_open_recorded(void)
{
    size_t len;
    struere_error err;
    struere_bundle *h = NULL;
    const char *body;
    size_t body_len;
    unsigned char *b = build_env(STRUERE_ENV_PRODUCTION, &len);
    CHECK(rt_bundle_open_recorded(&h, b, len, STRUERE_ENV_PRODUCTION, &err) ==
          0);
    CHECK(h &&
          struere_bundle_lookup(&body, &body_len, h, STRUERE_KIND_AGENT,
                                "front-desk", &err) == 0 &&
          body_len == strlen(agents[1].body) &&
          !memcmp(body, agents[1].body, body_len));
    struere_bundle_free(h); /* frees b */

    /* a body byte changed, its CRC not fixed: refused by a verification,
     * opened on a record (whose SHA-256 would not have matched) */
    b = build_env(STRUERE_ENV_PRODUCTION, &len);
    size_t strs = tb_find(b, "STRS");
    uint64_t soff = tb_get64(b + strs + 8), ssize = tb_get64(b + strs + 16);
    unsigned char *name = memmem(b + soff, ssize, "Billing", 7);
    CHECK(name != NULL);
    if (name)
        name[0] = 'b';
    CHECK(refused_with(b, len, 0, STRUERE_ECHECKSUM));
    h = NULL;
    CHECK(rt_bundle_open_recorded(&h, b, len, STRUERE_ENV_PRODUCTION, &err) ==
          0);
    CHECK(h &&
          struere_bundle_lookup(&body, &body_len, h, STRUERE_KIND_AGENT,
                                "billing-assistant", &err) == 0 &&
          !strncmp(body, "{\"name\":\"billing\"", 17));
    struere_bundle_free(h);

    /* a body that is not JSON: a verification leaves it to the reader,
     * who refuses it; on a record (which vouches for the bodies too) it is
     * returned */
    struct tb_entry not_json = {"a", "not json"};
    struct tb_spec spec = small_spec(STRUERE_ENV_PRODUCTION);
    spec.entries[ROLE] = &not_json;
    spec.counts[ROLE] = 1;
    b = tb_build(&spec, &len);
    CHECK(struere_bundle_open_memory(&h, b, len, STRUERE_ENV_PRODUCTION,
                                     &err) == 0 &&
          struere_bundle_lookup(&body, &body_len, h, STRUERE_KIND_ROLE, "a",
                                &err) == STRUERE_ECORRUPT);
    struere_bundle_free(h);
    h = NULL;
    CHECK(rt_bundle_open_recorded(&h, b, len, STRUERE_ENV_PRODUCTION, &err) ==
              0 &&
          struere_bundle_lookup(&body, &body_len, h, STRUERE_KIND_ROLE, "a",
                                &err) == 0 &&
          body_len == 8);
    struere_bundle_free(h);

    /* slugs out of order: refused either way */
    const struct tb_entry unsorted[] = {{"b", "{}"}, {"a", "{}"}};
    spec = small_spec(STRUERE_ENV_PRODUCTION);
    spec.entries[ROLE] = unsorted;
    spec.counts[ROLE] = 2;
    b = tb_build(&spec, &len);
    h = (struere_bundle *)b;
    CHECK(rt_bundle_open_recorded(&h, b, len, STRUERE_ENV_PRODUCTION, &err) ==
              STRUERE_ECORRUPT &&
          h == NULL && strstr(err.message, "does not sort after"));
    free(b);

    /* a string reference past the end of STRS: refused either way */
    b = build_env(STRUERE_ENV_PRODUCTION, &len);
    size_t meta = tb_find(b, "META");
    uint64_t moff = tb_get64(b + meta + 8);
    tb_put32(b + moff + 8, (uint32_t)tb_get64(b + tb_find(b, "STRS") + 16));
    tb_fix_crcs(b, len);
    h = (struere_bundle *)b;
    CHECK(rt_bundle_open_recorded(&h, b, len, STRUERE_ENV_PRODUCTION, &err) ==
              STRUERE_ECORRUPT &&
          h == NULL && strstr(err.message, "runs past the end of STRS"));
    /* nor a bundle of another environment */
    free(b);
    b = build_env(STRUERE_ENV_DEVELOPMENT, &len);
    h = (struere_bundle *)b;
    CHECK(rt_bundle_open_recorded(&h, b, len, STRUERE_ENV_PRODUCTION, &err) ==
              STRUERE_EENV &&
          h == NULL);
    free(b);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
        return write_seeds(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-seeds DIR]\n", argv[0]);
        return 2;
    }
    test_names();
    test_valid();
    test_info();
    test_lookup();
    test_many();
    test_env_and_version();
    test_rules();
    test_exhaustive();
    test_open();
    test_open_recorded();
    test_state();
    printf("runtime: %d passed, %d failed\n", rt_passed, rt_failed);
    return rt_failed != 0;
}
