/*
 * cmd_access.c - `struere access`: effective access per subject (an agent
 * with its roles, a role alone; access.h computes it with libstruere's
 * engine), printed as text, Markdown, HTML or JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "access.h"
#include "cli.h"
#include "markdown.h"
#include "project.h"
#include "store.h"
#include "struere.h"

#define MAX_SUBJECTS 64 /* --agent and --role: at most this many each */

static const char access_usage[] =
    "usage: struere access [REV|FILE] [--env ENV] [--agent SLUG]...\n"
    "                      [--role SLUG]... [--format text|md|html|json]\n"
    "\n"
    "Effective access, computed by libstruere's engine: for each subject\n"
    "(every agent with its roles, and every role alone as a user holding\n"
    "only it; or only the subjects --agent and --role name), every\n"
    "(resource, action) it is allowed - resources are the data types and\n"
    "users, actions create, read, update, delete, list - with the policies\n"
    "that allow it (ROLE#policies[i]), the row scope (the predicate `can\n"
    "--json` prints; none: every row) and the field masks; then the pairs\n"
    "an explicit deny removes (a deny policy matches where an allow would\n"
    "grant), with the deny policies.\n"
    "\n"
    "REV|FILE: a revision of the store or a bundle file (.stb), as for\n"
    "inspect; default: the --env environment's commit (default\n"
    "development). A role subject's user id is \"" ACCESS_ROLE_USER_ID "\".\n"
    "md is a report for a pull request; html is it as a page (lists, not\n"
    "tables).\n"
    "\n"
    "JSON: {\"environment\", \"commit\": ID|null, \"subjects\": "
    "[{\"subject\",\n"
    "\"roles\", \"allowed\": [{\"resource\", \"action\", \"by\", \"scope\",\n"
    "\"masks\": [{\"field\", \"type\", \"replacement\"}]}], \"denied\":\n"
    "[{\"resource\", \"action\", \"by\"}]}]}\n"
    "Exit 0; 1 bad input (an unknown agent or role, a bad bundle); 2 usage;\n"
    "3 I/O.\n";

enum format { FMT_TEXT, FMT_MD, FMT_HTML, FMT_JSON };

/* One subject's access, appended to list. Returns an exit code. */
static int add_subject(const struere_runtime *rt, json_t *list, bool agent,
                       const char *slug)
{
    json_t *s;
    char err[512];
    int rc = access_subject(rt, agent, slug, &s, err, sizeof(err));
    if (rc != ACCESS_OK) {
        cli_error("access: %s", err);
        return rc == ACCESS_INVALID ? EXIT_INVALID : EXIT_IO;
    }
    json_array_append_new(list, s);
    return EXIT_OK;
}

/* Compact JSON text of v (for text and md), freed by the caller. */
static char *compact(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
}

static void print_by(FILE *out, const json_t *by, const char *sep)
{
    size_t i;
    json_t *p;
    json_array_foreach(by, i, p)
        fprintf(out, "%s%s", i ? sep : "", json_string_value(p));
}

/* JSON text (a predicate, a replacement) in a Markdown table cell or
 * list item: | would split a cell, ` and * and _ and \ would format. */
static void print_md_text(FILE *out, const char *t)
{
    for (const char *p = t; *p; p++) {
        if (strchr("|`*_\\[]<>", *p))
            fputc('\\', out);
        fputc(*p, out);
    }
}

static void print_masks(FILE *out, const json_t *masks, int md)
{
    size_t i;
    json_t *m;
    json_array_foreach(masks, i, m)
    {
        const json_t *r = json_object_get(m, "replacement");
        fprintf(out, "%s", i ? "; " : "");
        if (md)
            print_md_text(out, json_string_value(json_object_get(m, "field")));
        else
            fputs(json_string_value(json_object_get(m, "field")), out);
        fprintf(out, " %s", json_string_value(json_object_get(m, "type")));
        if (!json_is_null(r)) {
            char *t = compact(r);
            fputc(' ', out);
            if (md)
                print_md_text(out, t ? t : "?");
            else
                fputs(t ? t : "?", out);
            free(t);
        }
    }
}

static void print_text(FILE *out, const json_t *o)
{
    const json_t *c = json_object_get(o, "commit");
    fprintf(out, "effective access, %s bundle%s%s\n",
            json_string_value(json_object_get(o, "environment")),
            json_is_string(c) ? " of commit " : " (file)",
            json_is_string(c) ? json_string_value(c) : "");
    size_t i, j;
    json_t *s, *e;
    json_array_foreach(json_object_get(o, "subjects"), i, s)
    {
        fprintf(out, "\n%s (roles: ",
                json_string_value(json_object_get(s, "subject")));
        json_t *roles = json_object_get(s, "roles");
        if (!json_array_size(roles))
            fprintf(out, "none");
        print_by(out, roles, ", ");
        fprintf(out, ")\n");
        json_t *al = json_object_get(s, "allowed");
        if (!json_array_size(al))
            fprintf(out, "  allowed: nothing\n");
        json_array_foreach(al, j, e)
        {
            fprintf(out, "  allow %s %s  by ",
                    json_string_value(json_object_get(e, "action")),
                    json_string_value(json_object_get(e, "resource")));
            print_by(out, json_object_get(e, "by"), ", ");
            json_t *scope = json_object_get(e, "scope");
            char *t = json_is_null(scope) ? NULL : compact(scope);
            fprintf(out, "\n    rows: %s\n", t ? t : "every row");
            free(t);
            json_t *masks = json_object_get(e, "masks");
            if (json_array_size(masks)) {
                fprintf(out, "    masks: ");
                print_masks(out, masks, 0);
                fprintf(out, "\n");
            }
        }
        json_array_foreach(json_object_get(s, "denied"), j, e)
        {
            fprintf(out, "  deny  %s %s  by ",
                    json_string_value(json_object_get(e, "action")),
                    json_string_value(json_object_get(e, "resource")));
            print_by(out, json_object_get(e, "by"), ", ");
            fprintf(out, "\n");
        }
    }
}

/* The start of a row ("| RESOURCE | ACTION | ") or item ("- ACTION
 * RESOURCE by "). */
static void md_pair(FILE *out, const json_t *e, int table)
{
    const char *res = json_string_value(json_object_get(e, "resource"));
    const char *act = json_string_value(json_object_get(e, "action"));
    if (table)
        fprintf(out, "| %s | %s | ", res, act);
    else
        fprintf(out, "- %s %s by ", act, res);
}

/* Markdown; `table` false gives lists instead of tables (cmark, which
 * renders the html format, has no tables). */
static void print_md(FILE *out, const json_t *o, int table)
{
    const json_t *c = json_object_get(o, "commit");
    fprintf(out, "# Effective access (%s",
            json_string_value(json_object_get(o, "environment")));
    if (json_is_string(c))
        fprintf(out, ", commit `%.12s`", json_string_value(c));
    fprintf(out, ")\n");
    size_t i, j;
    json_t *s, *e;
    json_array_foreach(json_object_get(o, "subjects"), i, s)
    {
        fprintf(out, "\n## %s\n\nRoles: ",
                json_string_value(json_object_get(s, "subject")));
        json_t *roles = json_object_get(s, "roles");
        if (!json_array_size(roles))
            fprintf(out, "none");
        print_by(out, roles, ", ");
        fprintf(out, "\n\n");
        json_t *al = json_object_get(s, "allowed");
        if (!json_array_size(al))
            fprintf(out, "Allowed: nothing.\n");
        else if (table)
            fprintf(out, "| resource | action | by | rows | masks |\n"
                         "| --- | --- | --- | --- | --- |\n");
        else
            fprintf(out, "Allowed:\n\n");
        json_array_foreach(al, j, e)
        {
            md_pair(out, e, table);
            print_by(out, json_object_get(e, "by"), ", ");
            json_t *scope = json_object_get(e, "scope");
            char *t = json_is_null(scope) ? NULL : compact(scope);
            fputs(table ? " | " : "; rows: ", out);
            print_md_text(out, t ? t : "every row");
            free(t);
            json_t *masks = json_object_get(e, "masks");
            if (table || json_array_size(masks)) {
                fputs(table ? " | " : "; masks: ", out);
                print_masks(out, masks, 1);
            }
            fputs(table ? " |\n" : "\n", out);
        }
        json_t *dn = json_object_get(s, "denied");
        if (json_array_size(dn)) {
            fprintf(out, "\nRemoved by an explicit deny:\n\n");
            if (table)
                fprintf(out, "| resource | action | by |\n"
                             "| --- | --- | --- |\n");
            json_array_foreach(dn, j, e)
            {
                md_pair(out, e, table);
                print_by(out, json_object_get(e, "by"), ", ");
                fputs(table ? " |\n" : "\n", out);
            }
        }
    }
}

/* The md report without tables, through cmark (raw HTML is not passed
 * through). */
static int print_html(FILE *out, const json_t *o)
{
    char *md = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&md, &len);
    if (!mem)
        return EXIT_IO;
    print_md(mem, o, 0);
    if (fclose(mem) != 0) {
        free(md);
        return EXIT_IO;
    }
    char *html = markdown_to_html(md, len);
    free(md);
    if (!html)
        return EXIT_IO;
    fputs(html, out);
    free(html);
    return EXIT_OK;
}

int cmd_access(const struct cli *g, int argc, char **argv)
{
    const char *spec = NULL, *agents[MAX_SUBJECTS], *roles[MAX_SUBJECTS];
    size_t nagents = 0, nroles = 0;
    int env = -1;
    enum format fmt = FMT_TEXT;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_wants_help(arg)) {
            fputs(access_usage, stdout);
            return EXIT_OK;
        }
        int has = i + 1 < argc;
        if (!strcmp(arg, "--env") && has) {
            if (cli_env_arg(argv[++i], &env) != EXIT_OK)
                return EXIT_USAGE;
        } else if (!strcmp(arg, "--format") && has) {
            const char *f = argv[++i];
            if (!strcmp(f, "text"))
                fmt = FMT_TEXT;
            else if (!strcmp(f, "md"))
                fmt = FMT_MD;
            else if (!strcmp(f, "html"))
                fmt = FMT_HTML;
            else if (!strcmp(f, "json"))
                fmt = FMT_JSON;
            else {
                cli_error(
                    "access: --format '%s': expected text, md, html or json",
                    f);
                return EXIT_USAGE;
            }
        } else if (!strcmp(arg, "--json")) {
            fmt = FMT_JSON;
        } else if ((!strcmp(arg, "--agent") || !strcmp(arg, "--role")) && has) {
            int agent = arg[2] == 'a';
            size_t *n = agent ? &nagents : &nroles;
            if (*n == MAX_SUBJECTS) {
                cli_error("access: at most %d of %s", MAX_SUBJECTS, arg);
                return EXIT_USAGE;
            }
            (agent ? agents : roles)[(*n)++] = argv[++i];
        } else if (arg[0] != '-' && !spec) {
            spec = arg;
        } else {
            cli_error("access: unknown argument '%s'", arg);
            fputs(access_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!spec)
        spec = env >= 0 ? (env == ENV_PRODUCTION ? "production"
                           : env == ENV_EVAL     ? "eval"
                                                 : "development")
                        : "development";
    if (env < 0)
        env = cli_env_parse(spec) >= 0 ? cli_env_parse(spec) : ENV_DEVELOPMENT;
    struct store *s = cli_store_if_any(g);
    struere_bundle *b = NULL;
    struere_runtime *rt = NULL;
    json_t *out = NULL;
    char label[300];
    int rc = cli_load_bundle(g, s, spec, env, &b, label, sizeof(label));
    if (rc != EXIT_OK)
        goto cleanup;
    char id[41] = "", pbuf[4096];
    struct stat st;
    const char *file = cli_path(g, spec, pbuf, sizeof(pbuf));
    /* A bundle file has no commit; a revision names one (as
     * cli_load_bundle decides which it is). */
    if ((stat(file, &st) == 0 && S_ISREG(st.st_mode)) || !s ||
        store_resolve(s, spec, id) != STORE_OK)
        id[0] = 0;
    size_t len;
    const void *bytes = struere_bundle_bytes(b, &len);
    struere_error err;
    int lrc = struere_runtime_open_memory(&rt, bytes, len, 0, &err);
    if (lrc < 0) {
        cli_error("access: %s", err.message);
        rc = lrc == STRUERE_ENOMEM ? EXIT_IO : EXIT_INVALID;
        goto cleanup;
    }
    out = json_object();
    json_object_set_new(out, "environment",
                        json_string(struere_env_name(struere_runtime_env(rt))));
    json_object_set_new(out, "commit", id[0] ? json_string(id) : json_null());
    json_t *list = json_array();
    json_object_set_new(out, "subjects", list);
    if (!nagents && !nroles) {
        for (size_t i = 0;
             rc == EXIT_OK && i < struere_bundle_count(b, STRUERE_KIND_AGENT);
             i++) {
            const char *slug;
            struere_bundle_entry(&slug, NULL, NULL, b, STRUERE_KIND_AGENT, i,
                                 NULL);
            rc = add_subject(rt, list, true, slug);
        }
        for (size_t i = 0;
             rc == EXIT_OK && i < struere_bundle_count(b, STRUERE_KIND_ROLE);
             i++) {
            const char *slug;
            struere_bundle_entry(&slug, NULL, NULL, b, STRUERE_KIND_ROLE, i,
                                 NULL);
            rc = add_subject(rt, list, false, slug);
        }
    } else {
        for (size_t i = 0; rc == EXIT_OK && i < nagents; i++)
            rc = add_subject(rt, list, true, agents[i]);
        for (size_t i = 0; rc == EXIT_OK && i < nroles; i++)
            rc = add_subject(rt, list, false, roles[i]);
    }
    if (rc != EXIT_OK)
        goto cleanup;
    if (fmt == FMT_JSON) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (fmt == FMT_MD) {
        print_md(stdout, out, 1);
    } else if (fmt == FMT_HTML) {
        rc = print_html(stdout, out);
    } else {
        print_text(stdout, out);
    }
    if (fflush(stdout) != 0)
        rc = EXIT_IO;
cleanup:
    json_decref(out);
    struere_runtime_free(rt);
    struere_bundle_free(b);
    if (s)
        store_close(s);
    return rc;
}
