/*
 * cmd_access.c - `struere access`: effective access per subject (an agent
 * with its roles, a role alone; access.h computes it with libstruere's
 * engine), printed as text, Markdown, HTML or JSON.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "grant), with the deny policies; then the automations it sets off:\n"
    "those whose trigger is a write (create, update, delete of a data\n"
    "type) it is allowed, each with what its actions do, and the\n"
    "automations their cascading writes set off do (an automation runs as\n"
    "the system actor: every row, no mask; \"*\": any data type). An\n"
    "agent.chat action does what the agent asked may do with its tools\n"
    "(every agent's, when it may ask agents itself), and a custom tool\n"
    "what its handler may do through struere (README, \"Reviewing a\n"
    "promotion\"); their writes set off automations too. Each (resource,\n"
    "action) an automation set off does is listed once, by the nearest\n"
    "way (through the fewest automations, then actions in order).\n"
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
    "[{\"resource\", \"action\", \"by\"}], \"automations\":\n"
    "[{\"automation\", \"when\": {\"resource\", \"action\", "
    "\"condition\"},\n"
    "\"does\": [{\"resource\", \"action\", \"by\"}]}]}]}\n"
    "Exit 0; 1 bad input (an unknown agent or role, a bad bundle); 2 usage;\n"
    "3 I/O.\n";

enum format { FMT_TEXT, FMT_MD, FMT_HTML, FMT_JSON };

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

/* How a value (a field path, JSON text) is written: as it is in text; as
 * code in Markdown (markdown_print_code), in a table cell or not. */
enum how { AS_TEXT, AS_MD, AS_MD_CELL };

static void print_value(FILE *out, const char *t, enum how how)
{
    if (!t)
        t = "?";
    if (how == AS_TEXT)
        fputs(t, out);
    else
        markdown_print_code(out, t, how == AS_MD_CELL ? MARKDOWN_IN_TABLE : 0);
}

static void print_masks(FILE *out, const json_t *masks, enum how how)
{
    size_t i;
    json_t *m;
    json_array_foreach(masks, i, m)
    {
        const json_t *r = json_object_get(m, "replacement");
        fprintf(out, "%s", i ? "; " : "");
        print_value(out, json_string_value(json_object_get(m, "field")), how);
        fprintf(out, " %s", json_string_value(json_object_get(m, "type")));
        if (!json_is_null(r)) {
            char *t = compact(r);
            fputc(' ', out);
            print_value(out, t, how);
            free(t);
        }
    }
}

static void print_text(FILE *out, const json_t *s)
{
    size_t j;
    json_t *e;
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
                print_masks(out, masks, AS_TEXT);
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
        json_array_foreach(json_object_get(s, "automations"), j, e)
        {
            const json_t *when = json_object_get(e, "when");
            fprintf(out,
                    "  sets off automation %s on %s %s (runs as the system "
                    "actor: every row, no mask)\n",
                    json_string_value(json_object_get(e, "automation")),
                    json_string_value(json_object_get(when, "action")),
                    json_string_value(json_object_get(when, "resource")));
            size_t k;
            json_t *d;
            json_array_foreach(json_object_get(e, "does"), k, d)
                fprintf(out, "    does %s %s  by %s\n",
                        json_string_value(json_object_get(d, "action")),
                        json_string_value(json_object_get(d, "resource")),
                        json_string_value(json_object_get(d, "by")));
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
static void print_md(FILE *out, const json_t *s, int table)
{
    size_t j;
    json_t *e;
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
            if (t)
                print_value(out, t, table ? AS_MD_CELL : AS_MD);
            else
                fputs("every row", out);
            free(t);
            json_t *masks = json_object_get(e, "masks");
            if (table || json_array_size(masks)) {
                fputs(table ? " | " : "; masks: ", out);
                print_masks(out, masks, table ? AS_MD_CELL : AS_MD);
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
        json_t *au = json_object_get(s, "automations");
        if (json_array_size(au)) {
            fprintf(out, "\nSets off automations (each runs as the system "
                         "actor: every row, no mask):\n\n");
            if (table)
                fprintf(out, "| automation | on | does | by |\n"
                             "| --- | --- | --- | --- |\n");
        }
        json_array_foreach(au, j, e)
        {
            const json_t *when = json_object_get(e, "when");
            const char *name =
                json_string_value(json_object_get(e, "automation"));
            size_t k;
            json_t *d;
            json_array_foreach(json_object_get(e, "does"), k, d)
            {
                fprintf(out,
                        table ? "| %s | %s %s | %s %s | %s |\n"
                              : "- %s, on %s %s: %s %s by %s\n",
                        name,
                        json_string_value(json_object_get(when, "action")),
                        json_string_value(json_object_get(when, "resource")),
                        json_string_value(json_object_get(d, "action")),
                        json_string_value(json_object_get(d, "resource")),
                        json_string_value(json_object_get(d, "by")));
            }
            if (!json_array_size(json_object_get(e, "does")))
                fprintf(out,
                        table ? "| %s | %s %s | no record | |\n"
                              : "- %s, on %s %s: no record\n",
                        name,
                        json_string_value(json_object_get(when, "action")),
                        json_string_value(json_object_get(when, "resource")));
        }
    }
}

/* The report as it is written: the head, then subject by subject (each
 * freed once written: the whole document is never held), then the tail.
 * html collects the Markdown (lists, not tables) for cmark, which does
 * not pass raw HTML through. */
struct report {
    enum format fmt;
    FILE *out, *md;
    char *mdtext;
    size_t mdlen, n;
};

static int report_head(struct report *r, const char *env, const char *commit)
{
    r->n = 0;
    if (r->fmt == FMT_HTML) {
        r->mdtext = NULL;
        if (!(r->md = open_memstream(&r->mdtext, &r->mdlen)))
            return EXIT_IO;
    }
    FILE *out = r->fmt == FMT_HTML ? r->md : r->out;
    if (r->fmt == FMT_TEXT) {
        fprintf(out, "effective access, %s bundle%s%s\n", env,
                commit ? " of commit " : " (file)", commit ? commit : "");
    } else if (r->fmt == FMT_JSON) {
        /* the environment's name and a hex id need no escaping */
        fprintf(out, "{\n  \"environment\": \"%s\",\n  \"commit\": ", env);
        fprintf(out, commit ? "\"%s\",\n" : "null,\n", commit);
        fputs("  \"subjects\": [", out);
    } else {
        fprintf(out, "# Effective access (%s", env);
        if (commit)
            fprintf(out, ", commit `%.12s`", commit);
        fprintf(out, ")\n");
    }
    return EXIT_OK;
}

static int report_subject(struct report *r, const json_t *s)
{
    if (r->fmt == FMT_TEXT) {
        print_text(r->out, s);
    } else if (r->fmt == FMT_MD || r->fmt == FMT_HTML) {
        print_md(r->fmt == FMT_HTML ? r->md : r->out, s, r->fmt == FMT_MD);
    } else {
        /* as json_dumpf of the whole document would indent it */
        char *text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
            return EXIT_IO;
        fputs(r->n ? ",\n    " : "\n    ", r->out);
        for (const char *p = text; *p; p++) {
            fputc(*p, r->out);
            if (*p == '\n')
                fputs("    ", r->out);
        }
        free(text);
    }
    r->n++;
    return EXIT_OK;
}

static int report_tail(struct report *r)
{
    if (r->fmt == FMT_JSON)
        fputs(r->n ? "\n  ]\n}\n" : "]\n}\n", r->out);
    if (r->fmt != FMT_HTML)
        return EXIT_OK;
    int ok = fclose(r->md) == 0;
    r->md = NULL;
    char *html = ok ? markdown_to_html(r->mdtext, r->mdlen) : NULL;
    free(r->mdtext);
    r->mdtext = NULL;
    if (!html)
        return EXIT_IO;
    fputs(html, r->out);
    free(html);
    return EXIT_OK;
}

/* One subject's access, written. Returns an exit code. */
static int add_subject(const struere_runtime *rt,
                       const struct access_automations *autos, struct report *r,
                       bool agent, const char *slug)
{
    json_t *s;
    char err[512];
    int rc = access_subject(rt, autos, agent, slug, &s, err, sizeof(err));
    if (rc != ACCESS_OK) {
        cli_error("access: %s", err);
        return rc == ACCESS_INVALID ? EXIT_INVALID : EXIT_IO;
    }
    rc = report_subject(r, s);
    json_decref(s);
    return rc;
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
        spec = env_names[env >= 0 ? env : ENV_DEVELOPMENT];
    if (env < 0)
        env = cli_env_parse(spec) >= 0 ? cli_env_parse(spec) : ENV_DEVELOPMENT;
    struct store *s = cli_store_if_any(g);
    const struere_bundle *b = NULL;
    struere_runtime *rt = NULL;
    struct access_automations *autos = NULL;
    char label[300], id[41];
    /* id: the commit read ("" for a bundle file), resolved once */
    int rc = cli_load_runtime(g, s, spec, env, &rt, label, sizeof(label), id);
    if (rc != EXIT_OK)
        goto cleanup;
    b = struere_runtime_bundle(rt);
    /* every named subject exists before anything is written */
    for (size_t i = 0; i < nagents + nroles; i++) {
        bool agent = i < nagents;
        const char *slug = agent ? agents[i] : roles[i - nagents];
        if (struere_bundle_lookup(
                NULL, NULL, b, agent ? STRUERE_KIND_AGENT : STRUERE_KIND_ROLE,
                slug, NULL) < 0) {
            cli_error("access: no %s '%s' in the bundle",
                      agent ? "agent" : "role", slug);
            rc = EXIT_INVALID;
            goto cleanup;
        }
    }
    autos = access_automations_new(rt);
    if (!autos) {
        cli_error("access: out of memory, or an automation of the bundle is "
                  "not what the compiler writes");
        rc = EXIT_IO;
        goto cleanup;
    }
    struct report r = {.fmt = fmt, .out = stdout};
    rc = report_head(&r, struere_env_name(struere_runtime_env(rt)),
                     id[0] ? id : NULL);
    if (!nagents && !nroles) {
        for (size_t i = 0;
             rc == EXIT_OK && i < struere_bundle_count(b, STRUERE_KIND_AGENT);
             i++) {
            const char *slug;
            struere_bundle_entry(&slug, NULL, NULL, b, STRUERE_KIND_AGENT, i,
                                 NULL);
            rc = add_subject(rt, autos, &r, true, slug);
        }
        for (size_t i = 0;
             rc == EXIT_OK && i < struere_bundle_count(b, STRUERE_KIND_ROLE);
             i++) {
            const char *slug;
            struere_bundle_entry(&slug, NULL, NULL, b, STRUERE_KIND_ROLE, i,
                                 NULL);
            rc = add_subject(rt, autos, &r, false, slug);
        }
    } else {
        for (size_t i = 0; rc == EXIT_OK && i < nagents; i++)
            rc = add_subject(rt, autos, &r, true, agents[i]);
        for (size_t i = 0; rc == EXIT_OK && i < nroles; i++)
            rc = add_subject(rt, autos, &r, false, roles[i]);
    }
    if (rc == EXIT_OK)
        rc = report_tail(&r);
    else if (r.md) {
        fclose(r.md);
        free(r.mdtext);
    }
    if (fflush(stdout) != 0)
        rc = EXIT_IO;
cleanup:
    access_automations_free(autos);
    struere_runtime_free(rt);
    if (s)
        store_close(s);
    return rc;
}
