/*
 * test_project.c - what check keeps of a definition file once it is
 * parsed: the text of every file but a Markdown agent's is let go
 * (source_release), its SHA-256 is taken first when asked for, and a
 * report reads the lines it quotes back from the file, only if the file
 * is still the one that was read.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"
#include "project.h"
#include "source.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

/* The byte order mark is part of the file, and so of its digest. */
static const char fixture_text[] = "\xEF\xBB\xBF"
                                   "name: Tickets\n"
                                   "slug: tickets\n"
                                   "entities:\n"
                                   "  - ref: ticket-1\n"
                                   "    type: tickt\n"
                                   "    data:\n"
                                   "      title: Printer on fire\n";

static const char agent_text[] = "---\n"
                                 "name: Helper\n"
                                 "slug: helper\n"
                                 "version: \"1.0\"\n"
                                 "---\n"
                                 "You answer questions about tickets.\n";

static void make_project(void)
{
    snprintf(dir, sizeof(dir), "/tmp/struere-unit-project.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char sub[128];
    const char *dirs[] = {"data", "fixtures", "agents"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", dir, dirs[i]);
        if (mkdir(sub, 0755) != 0)
            abort();
    }
    put("struere.yaml", "name: unit\nversion: \"1.0\"\n");
    put("data/ticket.yaml", "name: Ticket\n"
                            "slug: ticket\n"
                            "schema:\n"
                            "  type: object\n"
                            "  properties:\n"
                            "    title:\n"
                            "      type: string\n");
    put("fixtures/tickets.fixture.yaml", fixture_text);
    put("agents/helper.md", agent_text);
}

static void remove_project(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        abort();
}

static struct def *def_named(struct project *p, enum kind k, const char *path)
{
    for (size_t i = 0; i < p->ndefs[k]; i++)
        if (!strcmp(p->defs[k][i].path, path))
            return &p->defs[k][i];
    return NULL;
}

/* The diagnostic with code, or NULL. */
static const struct diag *diag_coded(const struct project *p, const char *code)
{
    for (size_t i = 0; i < p->diags.n; i++)
        if (!strcmp(p->diags.items[i].code, code))
            return &p->diags.items[i];
    return NULL;
}

static void hex(const unsigned char *h, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* check alone: texts let go, nothing hashed; quotes read back. */
static void test_released_and_quoted(void)
{
    make_project();
    struct project p;
    struct check_options opt = {.threads = 1};
    CHECK(check_project(&p, dir, &opt) == 0);
    struct def *fx =
        def_named(&p, KIND_FIXTURE, "fixtures/tickets.fixture.yaml");
    struct def *md = def_named(&p, KIND_AGENT, "agents/helper.md");
    CHECK(fx && md);
    if (!fx || !md) {
        project_free(&p);
        remove_project();
        return;
    }
    /* The cross-reference error is found after the file was let go ... */
    const struct diag *d = diag_coded(&p, "unknown-data-type");
    CHECK(d != NULL);
    CHECK(d && d->src == fx->src && d->line == 5 && d->col == 11);
    CHECK(fx->sha256[0] == '\0'); /* check never hashes */
    /* ... and its line is read back for the report (check_project did). */
    size_t len = 0;
    const char *line = source_line(fx->src, 5, &len);
    CHECK(line && len == strlen("    type: tickt") &&
          !memcmp(line, "    type: tickt", len));
    CHECK(fx->src->skipped == 3);
    /* A Markdown agent's prompt points into its text: that stays. */
    CHECK(!md->src->unread && md->src->len == strlen(agent_text));
    project_free(&p);
    remove_project();
}

/* compile and dev ask for the digests: taken before the text goes, over
 * the file's bytes (its byte order mark too). */
static void test_hashed_before_release(void)
{
    make_project();
    struct project p;
    struct check_options opt = {.threads = 1, .hash_sources = true};
    CHECK(check_project(&p, dir, &opt) == 0);
    struct def *fx =
        def_named(&p, KIND_FIXTURE, "fixtures/tickets.fixture.yaml");
    struct def *md = def_named(&p, KIND_AGENT, "agents/helper.md");
    CHECK(fx && md);
    if (fx && md) {
        unsigned char h[32];
        char want[65];
        crypto_hash_sha256(h, (const unsigned char *)fixture_text,
                           strlen(fixture_text));
        hex(h, want);
        CHECK(!strcmp(fx->sha256, want));
        /* The Markdown agent, still held, is hashed with the others. */
        project_hash_sources(&p);
        crypto_hash_sha256(h, (const unsigned char *)agent_text,
                           strlen(agent_text));
        hex(h, want);
        CHECK(!strcmp(md->sha256, want));
    }
    project_free(&p);
    remove_project();
}

/* Changes the fixture file between the check and the report. */
typedef void (*change_fn)(void);

/* One byte more: the size differs from the stat taken when read. */
static void grow_file(void)
{
    char changed[sizeof(fixture_text) + 1];
    snprintf(changed, sizeof(changed), "%s\n", fixture_text);
    put("fixtures/tickets.fixture.yaml", changed);
}

/* What someone hiding an edit does: the same size, the same inode, the
 * modification time put back. Only the change time tells (after the
 * clock has moved: file times are taken from a coarse clock). */
static void same_size_mtime_back(void)
{
    char path[256], changed[sizeof(fixture_text)];
    snprintf(path, sizeof(path), "%s/fixtures/tickets.fixture.yaml", dir);
    struct stat before;
    if (stat(path, &before) != 0)
        abort();
    memcpy(changed, fixture_text, sizeof(fixture_text));
    char *at = strstr(changed, "tickt");
    if (!at)
        abort();
    at[1] = 'a'; /* "tackt": line 5 would quote a line never checked */
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    FILE *f = fopen(path, "r+b");
    if (!f)
        abort();
    fputs(changed, f);
    fclose(f);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    if (utimensat(AT_FDCWD, path, times, 0) != 0)
        abort();
}

/* A file changed between the check and the report is not quoted: its
 * lines would not be the ones the diagnostics name. */
static void changed_not_quoted(change_fn change)
{
    make_project();
    struct project p;
    /* Checked by parts, to change the file before the quotes are read:
     * check_project reads them at its end. */
    CHECK(project_load_config(&p, dir) == 0);
    CHECK(project_load_defs(&p, 1, NULL) == 0);
    check_definitions(&p);
    struct def *fx =
        def_named(&p, KIND_FIXTURE, "fixtures/tickets.fixture.yaml");
    CHECK(fx && fx->src->unread && fx->src->nlines == 0);
    CHECK(diag_coded(&p, "unknown-data-type") != NULL);
    change();
    project_read_quoted_sources(&p);
    size_t len;
    CHECK(fx && source_line(fx->src, 5, &len) == NULL);
    project_free(&p);
    remove_project();
}

static void test_changed_file_not_quoted(void)
{
    changed_not_quoted(grow_file);
}

static void test_hidden_edit_not_quoted(void)
{
    changed_not_quoted(same_size_mtime_back);
}

/* Moves the project directory to dir.old (*moved gets the path) and
 * makes a new, empty one at its path: the project re-pointed during a
 * run. */
static void repoint_project(char moved[sizeof(dir)])
{
    if (snprintf(moved, sizeof(dir), "%s.old", dir) >= (int)sizeof(dir) ||
        rename(dir, moved) != 0 || mkdir(dir, 0755) != 0)
        abort();
}

/* Removes both the new project directory and the one moved away. */
static void remove_repointed(const char *moved)
{
    remove_project();
    snprintf(dir, sizeof(dir), "%s", moved);
    remove_project();
}

/* The project directory re-pointed once the run has begun (moved away,
 * another put at its path): discovery lists the directory the run
 * opened, the one its files are read from, not names from the other. */
static void test_replaced_directory(void)
{
    make_project();
    struct project p;
    CHECK(project_load_config(&p, dir) == 0);
    char moved[sizeof(dir)];
    repoint_project(moved);
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/agents", dir);
    if (mkdir(sub, 0755) != 0)
        abort();
    put("agents/intruder.md", agent_text);
    CHECK(project_load_defs(&p, 1, NULL) == 0);
    struct def *helper = def_named(&p, KIND_AGENT, "agents/helper.md");
    CHECK(p.ndefs[KIND_AGENT] == 1 && helper && helper->root);
    CHECK(def_named(&p, KIND_AGENT, "agents/intruder.md") == NULL);
    CHECK(p.ndefs[KIND_DATA] == 1 && p.defs[KIND_DATA][0].root &&
          p.ndefs[KIND_FIXTURE] == 1 && p.defs[KIND_FIXTURE][0].root);
    CHECK(!p.io_error && diag_coded(&p, "io-error") == NULL);
    project_free(&p);
    remove_repointed(moved);
}

/* agents/ a link out of the project in the directory the run opened,
 * and the project re-pointed before discovery to one where agents/ is
 * inside (a directory) or nothing: the link is checked by its path, so
 * the new tree's answer must not let the old link be listed. */
static void linked_kinds_dir_replaced(bool agents_in_new)
{
    make_project();
    char outside[sizeof(dir) + 16], link[sizeof(dir) + 16];
    if (snprintf(outside, sizeof(outside), "%s.outside", dir) >=
            (int)sizeof(outside) ||
        snprintf(link, sizeof(link), "%s/agents", dir) >= (int)sizeof(link))
        abort();
    char secret[sizeof(outside) + 16];
    snprintf(secret, sizeof(secret), "%s/secret.md", outside);
    FILE *f = mkdir(outside, 0755) == 0 ? fopen(secret, "wb") : NULL;
    if (!f)
        abort();
    fputs("---\nname: Secret\nslug: secret\n---\nx\n", f);
    fclose(f);
    /* and a stray name: listed, it would be named in a warning */
    snprintf(secret, sizeof(secret), "%s/secret.txt", outside);
    if (!(f = fopen(secret, "wb")))
        abort();
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && ln -s '%s' '%s'", link, outside,
             link);
    if (system(cmd) != 0)
        abort();
    struct project p;
    CHECK(project_load_config(&p, dir) == 0);
    char moved[sizeof(dir)];
    repoint_project(moved);
    if (agents_in_new && mkdir(link, 0755) != 0)
        abort();
    CHECK(project_load_defs(&p, 1, NULL) == 0);
    CHECK(p.ndefs[KIND_AGENT] == 0);
    CHECK(def_named(&p, KIND_AGENT, "agents/secret.md") == NULL);
    for (size_t i = 0; i < p.diags.n; i++) {
        const struct diag *g = &p.diags.items[i];
        CHECK(!strstr(g->message, "secret") &&
              !(g->file && strstr(g->file, "secret")) &&
              !(g->src && strstr(g->src->path, "secret")));
    }
    /* the kind's directory not the same from one look to the next */
    CHECK(p.io_error && diag_coded(&p, "io-error"));
    project_free(&p);
    remove_repointed(moved);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", outside);
    if (system(cmd) != 0)
        abort();
}

static void test_linked_kinds_dir_replaced(void)
{
    linked_kinds_dir_replaced(true);
    linked_kinds_dir_replaced(false);
}

const struct test project_tests[] = {
    {"check lets texts go and reads quotes back", test_released_and_quoted},
    {"digests are taken before a text goes", test_hashed_before_release},
    {"a file changed since the check is not quoted",
     test_changed_file_not_quoted},
    {"an edit of the same size with its mtime put back is not quoted",
     test_hidden_edit_not_quoted},
    {"a directory replaced during the run is listed as it was opened",
     test_replaced_directory},
    {"a linked kind directory is listed only if it is the one checked",
     test_linked_kinds_dir_replaced},
    {0, 0},
};
