/*
 * cmd_runtime.c - the runtime-facing commands: get, can, prompt, query,
 * fire and eval. They use libstruere only (struere.h), opened with an API
 * key (--key or STRUERE_API_KEY) on the store, or on a bundle file
 * (--bundle FILE, for tools), exactly as a service embedding the library
 * would. jansson only reads the caller's files and pretty-prints.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../server/body.h"
#include "cli.h"
#include "json_tree.h"
#include "jsonmem.h"
#include "rtout.h"
#include "store.h"
#include "struere.h"

#define MAX_LIST 64 /* --param, --filter: at most this many each */

/* What every runtime command accepts. */
struct rt_opts {
    const char *key;
    const char *bundle;
    const char *trust, *state; /* --trust FILE, --state FILE */
    int json;
    /* the actor */
    const char *as;
    const char *roles[STRUERE_MAX_ACTOR_ROLES];
    size_t nroles;
    const char *entity;
};

static const char common_help[] =
    "\n"
    "opening (one of):\n"
    "  STRUERE_API_KEY=KEY   an API key (struere keys create): opens the\n"
    "                        bundle of the key's environment from the store\n"
    "                        (--store, else the repository around -C DIR)\n"
    "  --key KEY             the same, on the command line (visible to\n"
    "                        other users of this machine: prefer the "
    "variable)\n"
    "  --bundle FILE         a bundle file (struere build --out), no key\n"
    "  --trust FILE          pin the trust policy (a trust.json, from\n"
    "                        struere trust show --json); default: the\n"
    "                        store's first policy, trusted on first use\n"
    "  --state FILE          remember there what was accepted: the highest\n"
    "                        promotion per environment, the trust policy in\n"
    "                        force, keys seen revoked; refuse older ones\n"
    "  --json                machine-readable output\n";

static const char actor_help[] =
    "\n"
    "the actor:\n"
    "  --as system|admin     full access\n"
    "  --as agent:SLUG       the agent's roles\n"
    "  --as user:ID          a user, with --role SLUG (repeatable); in eval\n"
    "                        actor.entityId is the fixture record of a type\n"
    "                        bound to one of its roles whose userIdField is "
    "ID\n"
    "  --entity REF          overrides actor.entityId\n";

/* Parses an option shared by all runtime commands at argv[*i]: 1 taken,
 * 0 not one of them, -1 usage error (printed). */
static int common_opt(struct rt_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char **slot = NULL;
    if (!strcmp(a, "--json")) {
        o->json = 1;
        return 1;
    }
    if (!strcmp(a, "--key"))
        slot = &o->key;
    else if (!strcmp(a, "--bundle"))
        slot = &o->bundle;
    else if (!strcmp(a, "--trust"))
        slot = &o->trust;
    else if (!strcmp(a, "--state"))
        slot = &o->state;
    else if (!strcmp(a, "--as"))
        slot = &o->as;
    else if (!strcmp(a, "--entity"))
        slot = &o->entity;
    else if (!strcmp(a, "--role")) {
        if (o->nroles == STRUERE_MAX_ACTOR_ROLES) {
            cli_error("--role given more than %d times: one actor holds at "
                      "most %d roles",
                      STRUERE_MAX_ACTOR_ROLES, STRUERE_MAX_ACTOR_ROLES);
            return -1;
        }
        slot = &o->roles[o->nroles++];
    } else
        return 0;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", a);
        return -1;
    }
    *slot = argv[++*i];
    return 1;
}

/* A command's own options: 1 taken (advancing *i past its value), 0 not
 * one of them, -1 usage error (printed). */
typedef int (*own_opt_fn)(void *ctx, int argc, char **argv, int *i);

/* What a command's argument list says. */
struct args {
    const char *name;  /* the command, for messages */
    const char *usage; /* its usage text */
    int actor;         /* takes the actor options (their help too) */
    int min, max;      /* positional arguments */
    own_opt_fn own;    /* its own options, or NULL */
    void *ctx;
    const char *pos[2];
    int npos;
};

/* Parses argv into *o and a->pos. Returns -1 when --help was printed
 * (exit 0), EXIT_USAGE (printed), or EXIT_OK. */
static int parse_args(struct args *a, struct rt_opts *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cli_wants_help(argv[i])) {
            printf("%s%s%s", a->usage, a->actor ? actor_help : "", common_help);
            return -1;
        }
        int t = common_opt(o, argc, argv, &i);
        if (t == 0 && a->own)
            t = a->own(a->ctx, argc, argv, &i);
        if (t < 0)
            return EXIT_USAGE;
        if (t)
            continue;
        if (argv[i][0] == '-' || a->npos == a->max) {
            cli_error("%s: unexpected '%s'\n\n%s", a->name, argv[i], a->usage);
            return EXIT_USAGE;
        }
        a->pos[a->npos++] = argv[i];
    }
    if (a->npos < a->min) {
        fprintf(stderr, "%s", a->usage);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The value of option argv[*i] (advancing *i), or NULL after printing
 * that it needs one. */
static const char *opt_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* The exit code for a library error: the caller's input (a key, a slug)
 * is 1; the store, the bundle or memory is 3. */
static int exit_for(int code)
{
    switch (code) {
    case STRUERE_EKEY:
    case STRUERE_EREVOKED:
    case STRUERE_EEXPIRED:
    case STRUERE_EENV:
    case STRUERE_ENOTFOUND:
    case STRUERE_EINVAL:
    case STRUERE_EJSON:
    case STRUERE_EUNAPPROVED:
    case STRUERE_ESIGNATURE:
    case STRUERE_EREPLAY:
    case STRUERE_ETRUST:
        return EXIT_INVALID;
    default:
        return EXIT_IO;
    }
}

static int open_runtime(const struct cli *g, const struct rt_opts *o,
                        struere_runtime **rt)
{
    struere_error err;
    char buf[4096];
    int rc;
    if (o->bundle) {
        const char *path = cli_path(g, o->bundle, buf, sizeof(buf));
        rc = struere_runtime_open_file(rt, path, 0, &err);
        if (rc < 0) {
            cli_error("%s: %s", o->bundle, err.message);
            return exit_for(rc);
        }
        return EXIT_OK;
    }
    const char *key = o->key ? o->key : getenv("STRUERE_API_KEY");
    if (!key || !key[0]) {
        cli_error("no API key: set STRUERE_API_KEY (or pass --key KEY, or "
                  "--bundle FILE); create one with: struere keys create "
                  "--env ENV");
        return EXIT_USAGE;
    }
    /* The store: --store, else the repository enclosing -C DIR (found as
     * the other commands find it; the library itself never searches). */
    struct store *s;
    if ((rc = cli_open_store(g, NULL, &s)) != EXIT_OK)
        return rc;
    snprintf(buf, sizeof(buf), "%s", store_path(s));
    store_close(s);
    char tbuf[4096], sbuf[4096];
    struere_open_options opts = {0};
    opts.store = buf;
    opts.trust_file =
        o->trust ? cli_path(g, o->trust, tbuf, sizeof(tbuf)) : NULL;
    opts.state_file =
        o->state ? cli_path(g, o->state, sbuf, sizeof(sbuf)) : NULL;
    rc = struere_runtime_open(rt, key, &opts, &err);
    if (rc < 0) {
        cli_error("cannot open with this key: %s", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

/* The actor of --as/--role/--entity. `dflt_agent` is used when --as is
 * absent (prompt: the agent itself); else --as is required. */
static int make_actor(const struere_runtime *rt, const struct rt_opts *o,
                      const char *dflt_agent, struere_actor **out)
{
    struere_actor_spec spec = {0};
    struere_error err;
    const char *as = o->as;
    char agent_as[300];
    if (!as && dflt_agent) {
        snprintf(agent_as, sizeof(agent_as), "agent:%s", dflt_agent);
        as = agent_as;
    }
    if (!as) {
        cli_error("who asks? pass --as system|admin|agent:SLUG|user:ID");
        return EXIT_USAGE;
    }
    if (!strcmp(as, "system"))
        spec.type = STRUERE_ACTOR_SYSTEM;
    else if (!strcmp(as, "admin"))
        spec.type = STRUERE_ACTOR_ADMIN;
    else if (!strncmp(as, "agent:", 6) && as[6]) {
        spec.type = STRUERE_ACTOR_AGENT;
        spec.id = as + 6;
    } else if (!strncmp(as, "user:", 5) && as[5]) {
        spec.type = STRUERE_ACTOR_USER;
        spec.id = as + 5;
    } else {
        cli_error("--as '%s': expected system, admin, agent:SLUG or user:ID",
                  as);
        return EXIT_USAGE;
    }
    if (o->nroles && spec.type != STRUERE_ACTOR_USER) {
        cli_error("--role is for --as user:ID (an agent has its own roles)");
        return EXIT_USAGE;
    }
    spec.roles = o->roles;
    spec.role_count = o->nroles;
    spec.entity_id = o->entity;
    int rc = struere_actor_new(out, rt, &spec, &err);
    if (rc < 0) {
        cli_error("%s", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

/* The whole of f in *text (malloc'd, *len bytes): 0, or an errno (a
 * read that failed, ENOMEM). */
static int read_all(FILE *f, char **text, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return ENOMEM;
    for (;;) {
        if (n == cap) {
            char *more = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!more) {
                free(buf);
                return ENOMEM;
            }
            buf = more;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                return e;
            }
            break;
        }
    }
    *text = buf;
    *len = n;
    return 0;
}

/* The JSON in path (or stdin for "-") as compact text (*out, malloc'd),
 * which must be an object: `must` says what the object is, for the
 * message; a record's members are checked too. Returns EXIT_OK, else
 * (a message printed, *out NULL) EXIT_IO when the file cannot be opened
 * or read, or memory runs out, EXIT_INVALID when it is not what is
 * wanted. The text is checked (body.h) and its tree built with checked
 * allocations (json_tree.h): jansson's own loader is not safe when memory
 * runs out. Only text that does not check is given to jansson, for its
 * message (located as users know it). */
static int read_json_file(char **out, const struct cli *g, const char *path,
                          const char *what, const char *must, bool record)
{
    char buf[4096], msg[300];
    FILE *f = stdin;
    char *text;
    size_t len;
    *out = NULL;
    if (strcmp(path, "-") &&
        !(f = fopen(cli_path(g, path, buf, sizeof(buf)), "rb"))) {
        cli_error("%s %s: %s", what, path, strerror(errno));
        return EXIT_IO;
    }
    int rerr = read_all(f, &text, &len);
    if (f != stdin)
        fclose(f);
    if (rerr) {
        if (rerr == ENOMEM)
            cli_error("out of memory reading %s %s", what, path);
        else
            cli_error("%s %s: %s", what, path, strerror(rerr));
        return EXIT_IO;
    }
    json_t *v = NULL;
    int bc = body_check(text, len, msg, sizeof(msg));
    if (bc == 0 && !(v = json_tree(text, len)))
        bc = -2;
    if (bc == -1) {
        json_error_t jerr;
        json_t *j = json_loadb(text, len, 0, &jerr);
        if (j) /* what jansson takes and the check does not: a key twice */
            cli_error("%s %s%s", what, path, msg + 4);
        else
            /* jansson's column is the last character it read (1-based,
             * in characters), 0 when that was a line break: an error at
             * the end of the input, which is the start of that line. */
            cli_error("%s %s:%d:%d: %s", what, path, jerr.line,
                      jerr.column > 0 ? jerr.column : 1, jerr.text);
        json_decref(j);
    }
    free(text);
    if (bc == -2) {
        cli_error("out of memory reading %s %s", what, path);
        return EXIT_IO;
    }
    if (bc != 0)
        return EXIT_INVALID;
    if (!json_is_object(v)) {
        cli_error("%s %s: must be a JSON object (%s), not %s", what, path, must,
                  rtout_json_type(v));
        json_decref(v);
        return EXIT_INVALID;
    }
    /* A record's members, when present, have these types. */
    if (record && rtout_record_problem(v, msg, sizeof(msg))) {
        cli_error("%s %s%s", what, path, msg);
        json_decref(v);
        return EXIT_INVALID;
    }
    /* jansson's writer may leave out what it could not allocate and
     * still return text: its failures are counted (jsonmem.h) */
    unsigned long failures = json_mem_thread_failures();
    *out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!*out || json_mem_thread_failures() != failures) {
        free(*out);
        *out = NULL;
        cli_error("out of memory reading %s %s", what, path);
        return EXIT_IO;
    }
    return EXIT_OK;
}

static const struct {
    const char *name;
    int kind;
} kinds[] = {
    {"agent", STRUERE_KIND_AGENT},
    {"data", STRUERE_KIND_DATA},
    {"role", STRUERE_KIND_ROLE},
    {"tool", STRUERE_KIND_TOOL},
    {"automation", STRUERE_KIND_AUTOMATION},
    {"eval", STRUERE_KIND_EVAL},
    {"fixture", STRUERE_KIND_FIXTURE},
};

/* ---- get ---- */

static const char get_usage[] =
    "usage: struere get KIND SLUG [--json]\n"
    "\n"
    "Prints one definition as the environment's bundle holds it (overlays\n"
    "applied; agents with their resolved model, tools with parameter\n"
    "schemas, roles and prompt). KIND: agent, data, role, tool, automation;\n"
    "in eval also eval (suites with their cases) and fixture.\n";

int cmd_get(const struct cli *g, int argc, char **argv)
{
    struct rt_opts o = {0};
    struct args a = {.name = "get", .usage = get_usage, .min = 2, .max = 2};
    int ec = parse_args(&a, &o, argc, argv);
    if (ec)
        return ec < 0 ? EXIT_OK : ec;
    const char **pos = a.pos;
    int kind = -1;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        if (!strcmp(pos[0], kinds[k].name))
            kind = kinds[k].kind;
    if (kind < 0) {
        cli_error("get: unknown kind '%s' (agent, data, role, tool, "
                  "automation, eval, fixture)",
                  pos[0]);
        return EXIT_USAGE;
    }
    struere_runtime *rt;
    if ((ec = open_runtime(g, &o, &rt)))
        return ec;
    const char *body;
    size_t len;
    int rc = struere_bundle_lookup(&body, &len, struere_runtime_bundle(rt),
                                   kind, pos[1], NULL);
    if (rc < 0) {
        cli_error("no %s '%s' in the %s bundle", pos[0], pos[1],
                  struere_env_name(struere_runtime_env(rt)));
        struere_runtime_free(rt);
        return EXIT_INVALID;
    }
    rtout_json(stdout, body, len, o.json);
    struere_runtime_free(rt);
    return EXIT_OK;
}

/* ---- can ---- */

static const char can_usage[] =
    "usage: struere can ACTION RESOURCE --as ACTOR [--record FILE|--id ID]\n"
    "                   [--json]\n"
    "\n"
    "Decides whether the actor may do ACTION (create, read, update, delete,\n"
    "list) on RESOURCE (a data type, or users), and prints the decision, its\n"
    "reason (which role and policy), the row predicate and the field mask.\n"
    "With a record (a JSON file {\"_id\",\"type\",\"status\",\"data\"}, or an\n"
    "eval fixture record by --id), the row scope decides too and the record\n"
    "is printed as the actor sees it.\n"
    "Exit 0 when allowed, 1 when denied or on invalid input, 3 when the\n"
    "record file cannot be opened or read.\n";

/* The fixture record `id` unmasked (as the system actor reads it) in
 * *out; else an exit status, said why. */
static int fixture_record(const struere_runtime *rt, const char *id, char **out)
{
    int rc = rtout_fixture_record(out, rt, id);
    if (rc == 0)
        return EXIT_OK;
    if (rc == STRUERE_ENOMEM) {
        cli_error("out of memory reading fixture record '%s'", id);
        return EXIT_IO;
    }
    if (rc == STRUERE_EENV)
        cli_error("--id reads eval fixture records: use an eval key or "
                  "bundle, or --record FILE");
    else
        cli_error("no fixture record '%s' in the eval bundle", id);
    return EXIT_INVALID;
}

static int can_run(const struere_runtime *rt, const struere_actor *actor,
                   const char *action, const char *resource, const char *record,
                   int json)
{
    int rc = rtout_can(stdout, rt, actor, action, resource, record, json, NULL);
    if (rc == STRUERE_EINVAL) {
        cli_error("unknown action '%s' (create, read, update, delete, list)",
                  action);
        return EXIT_USAGE;
    }
    if (rc == STRUERE_ENOTFOUND) {
        cli_error("unknown resource '%s': not a data type of the %s bundle "
                  "(nor users)",
                  resource, struere_env_name(struere_runtime_env(rt)));
        return EXIT_INVALID;
    }
    if (rc == STRUERE_ENOMEM) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    if (rc < 0) {
        cli_error("%s", struere_strerror(rc));
        return exit_for(rc);
    }
    return rc == 1 ? EXIT_OK : EXIT_INVALID;
}

struct can_opts {
    const char *record_file, *id;
};

static int can_opt(void *ctx, int argc, char **argv, int *i)
{
    struct can_opts *c = ctx;
    const char **slot = !strcmp(argv[*i], "--record") ? &c->record_file
                        : !strcmp(argv[*i], "--id")   ? &c->id
                                                      : NULL;
    if (!slot)
        return 0;
    return (*slot = opt_value(argc, argv, i)) ? 1 : -1;
}

int cmd_can(const struct cli *g, int argc, char **argv)
{
    struct rt_opts o = {0};
    struct can_opts c = {0};
    struct args a = {.name = "can",
                     .actor = 1,
                     .usage = can_usage,
                     .min = 2,
                     .max = 2,
                     .own = can_opt,
                     .ctx = &c};
    int ec = parse_args(&a, &o, argc, argv);
    if (ec)
        return ec < 0 ? EXIT_OK : ec;
    const char **pos = a.pos, *record_file = c.record_file, *id = c.id;
    if (record_file && id) {
        cli_error("can: --record and --id are exclusive");
        return EXIT_USAGE;
    }
    struere_runtime *rt;
    if ((ec = open_runtime(g, &o, &rt)))
        return ec;
    struere_actor *actor = NULL;
    char *record = NULL;
    ec = make_actor(rt, &o, NULL, &actor);
    if (!ec && record_file)
        ec = read_json_file(&record, g, record_file, "--record",
                            "a record {\"_id\", \"type\", "
                            "\"status\", \"data\"}",
                            true);
    if (!ec && id)
        ec = fixture_record(rt, id, &record);
    if (!ec)
        ec = can_run(rt, actor, pos[0], pos[1], record, o.json);
    free(record);
    struere_actor_free(actor);
    struere_runtime_free(rt);
    return ec;
}

/* ---- query ---- */

static const char query_usage[] =
    "usage: struere query TYPE --as ACTOR [--filter FIELD=VALUE]... "
    "[--limit N]\n"
    "                     [--json]\n"
    "\n"
    "The eval fixture records of TYPE the actor may list, after row scope\n"
    "and field masks, as a JSON array of "
    "{\"_id\",\"type\",\"status\",\"data\"}.\n"
    "--filter keeps records whose data FIELD (a dot path) equals VALUE (read\n"
    "as JSON when it parses, else as a string). Needs an eval key or bundle.\n";

/* --filter k=v pairs as a JSON object text. */
static char *filters_json(char *const *pairs, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(pairs[i], '=');
        char key[512];
        size_t kn = (size_t)(eq - pairs[i]);
        if (kn >= sizeof(key))
            kn = sizeof(key) - 1;
        memcpy(key, pairs[i], kn);
        key[kn] = 0;
        json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
        json_object_set_new(o, key, v ? v : json_string(eq + 1));
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

struct query_opts {
    char *filters[MAX_LIST];
    size_t nfilters;
    unsigned long limit;
};

static int query_opt(void *ctx, int argc, char **argv, int *i)
{
    struct query_opts *q = ctx;
    const char *v;
    if (!strcmp(argv[*i], "--filter")) {
        if (!(v = opt_value(argc, argv, i)))
            return -1;
        if (!strchr(v, '=') || v[0] == '=' || q->nfilters == MAX_LIST) {
            cli_error("--filter '%s': expected FIELD=VALUE (at most %d)", v,
                      MAX_LIST);
            return -1;
        }
        q->filters[q->nfilters++] = argv[*i];
        return 1;
    }
    if (!strcmp(argv[*i], "--limit")) {
        char *end;
        if (!(v = opt_value(argc, argv, i)))
            return -1;
        errno = 0;
        q->limit = strtoul(v, &end, 10);
        if (*end || errno || v[0] == '-' || !v[0]) {
            cli_error("--limit '%s': expected a number", v);
            return -1;
        }
        return 1;
    }
    return 0;
}

int cmd_query(const struct cli *g, int argc, char **argv)
{
    struct rt_opts o = {0};
    struct query_opts q = {0};
    struct args a = {.name = "query",
                     .actor = 1,
                     .usage = query_usage,
                     .min = 1,
                     .max = 1,
                     .own = query_opt,
                     .ctx = &q};
    int ec = parse_args(&a, &o, argc, argv);
    if (ec)
        return ec < 0 ? EXIT_OK : ec;
    const char *type = a.pos[0];
    char **filters = q.filters;
    size_t nfilters = q.nfilters;
    unsigned long limit = q.limit;
    struere_runtime *rt;
    if ((ec = open_runtime(g, &o, &rt)))
        return ec;
    struere_actor *actor = NULL;
    ec = make_actor(rt, &o, NULL, &actor);
    if (ec) {
        struere_runtime_free(rt);
        return ec;
    }
    char *f = nfilters ? filters_json(filters, nfilters) : NULL;
    char *out = NULL;
    size_t len;
    struere_decision d;
    int rc = struere_query(&out, &len, &d, rt, actor, type, f,
                           f ? strlen(f) : 0, limit, NULL);
    if (rc == STRUERE_EENV) {
        cli_error("query reads eval fixtures: this is the %s bundle (use an "
                  "sk_eval_ key)",
                  struere_env_name(struere_runtime_env(rt)));
        ec = EXIT_INVALID;
    } else if (rc == STRUERE_ENOTFOUND) {
        cli_error("unknown data type '%s'", type);
        ec = EXIT_INVALID;
    } else if (rc < 0) {
        cli_error("query: %s", struere_strerror(rc));
        ec = exit_for(rc);
    } else {
        if (!d.allowed && !o.json) {
            char reason[300];
            struere_reason_text(reason, sizeof(reason), NULL, rt, &d, NULL);
            fprintf(stderr, "struere: denied: %s\n", reason);
        }
        rtout_json(stdout, out, len, o.json);
    }
    free(out);
    free(f);
    struere_actor_free(actor);
    struere_runtime_free(rt);
    return ec;
}

/* ---- prompt ---- */

static const char prompt_usage[] =
    "usage: struere prompt AGENT [--param NAME=VALUE]... [--channel C]\n"
    "                     [--message TEXT] [--user-id ID] [--thread-id ID]\n"
    "                     [--now MILLISECONDS] [--as ACTOR] [--json]\n"
    "\n"
    "Renders the agent's system prompt with Struere's template variables and\n"
    "tool calls. In eval, entity.query and entity.get run against the\n"
    "fixture data with the agent's permissions (or --as ACTOR's).\n";

struct prompt_opts {
    struere_prompt_context ctx;
    char *params[MAX_LIST];
    size_t nparams;
};

static int prompt_opt(void *ctx, int argc, char **argv, int *i)
{
    struct prompt_opts *p = ctx;
    const char *a = argv[*i], **slot = NULL;
    if (!strcmp(a, "--channel"))
        slot = &p->ctx.channel;
    else if (!strcmp(a, "--message"))
        slot = &p->ctx.message;
    else if (!strcmp(a, "--user-id"))
        slot = &p->ctx.user_id;
    else if (!strcmp(a, "--thread-id"))
        slot = &p->ctx.thread_id;
    else if (strcmp(a, "--param") && strcmp(a, "--now"))
        return 0;
    const char *v = opt_value(argc, argv, i);
    if (!v)
        return -1;
    if (slot) {
        *slot = v;
    } else if (!strcmp(a, "--param")) {
        if (!strchr(v, '=') || p->nparams == MAX_LIST) {
            cli_error("--param '%s': expected NAME=VALUE (at most %d)", v,
                      MAX_LIST);
            return -1;
        }
        p->params[p->nparams++] = argv[*i];
    } else {
        char *end;
        long long ms = strtoll(v, &end, 10);
        if (*end || ms <= 0) {
            cli_error("--now '%s': expected milliseconds since 1970", v);
            return -1;
        }
        p->ctx.now_ms = ms;
    }
    return 1;
}

int cmd_prompt(const struct cli *g, int argc, char **argv)
{
    struct rt_opts o = {0};
    struct prompt_opts po = {0};
    struct args a = {.name = "prompt",
                     .actor = 1,
                     .usage = prompt_usage,
                     .min = 1,
                     .max = 1,
                     .own = prompt_opt,
                     .ctx = &po};
    int ec = parse_args(&a, &o, argc, argv);
    if (ec)
        return ec < 0 ? EXIT_OK : ec;
    const char *agent = a.pos[0];
    struere_prompt_context ctx = po.ctx;
    const char *names[MAX_LIST], *values[MAX_LIST];
    char **params = po.params;
    size_t nparams = po.nparams;
    for (size_t i = 0; i < nparams; i++) {
        char *eq = strchr(params[i], '=');
        *eq = 0;
        names[i] = params[i];
        values[i] = eq + 1;
    }
    ctx.param_names = names;
    ctx.param_values = values;
    ctx.param_count = nparams;
    struere_runtime *rt;
    if ((ec = open_runtime(g, &o, &rt)))
        return ec;
    struere_actor *actor = NULL;
    if (o.as && (ec = make_actor(rt, &o, NULL, &actor))) {
        struere_runtime_free(rt);
        return ec;
    }
    ctx.actor = actor;
    char *out = NULL;
    size_t len;
    struere_error err;
    int rc = struere_prompt_render(&out, &len, rt, agent, &ctx, &err);
    if (rc < 0) {
        cli_error("prompt: %s", err.message);
        ec = exit_for(rc);
    } else if (o.json) {
        json_t *j = json_object();
        json_object_set_new(j, "agent", json_string(agent));
        json_object_set_new(j, "prompt", json_stringn(out, len));
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
        json_decref(j);
    } else {
        fwrite(out, 1, len, stdout);
        if (len && out[len - 1] != '\n')
            putchar('\n');
    }
    struere_free(out);
    struere_actor_free(actor);
    struere_runtime_free(rt);
    return ec;
}

/* ---- fire ---- */

static const char fire_usage[] =
    "usage: struere fire TYPE ACTION --data FILE [--previous FILE] [--id ID]\n"
    "                    [--json]\n"
    "\n"
    "Lists the automations that a change to a TYPE record fires (ACTION:\n"
    "created, updated, deleted), in order, with their arguments resolved\n"
    "({{trigger.*}}; {{steps.*}} are left for the executor and listed as\n"
    "deferred), schedule and retry. FILE holds the record's data object\n"
    "(- for standard input); --id is trigger.entityId.\n";

struct fire_opts {
    const char *data_file, *prev_file, *id;
};

static int fire_opt(void *ctx, int argc, char **argv, int *i)
{
    struct fire_opts *f = ctx;
    const char **slot = !strcmp(argv[*i], "--data")       ? &f->data_file
                        : !strcmp(argv[*i], "--previous") ? &f->prev_file
                        : !strcmp(argv[*i], "--id")       ? &f->id
                                                          : NULL;
    if (!slot)
        return 0;
    return (*slot = opt_value(argc, argv, i)) ? 1 : -1;
}

int cmd_fire(const struct cli *g, int argc, char **argv)
{
    struct rt_opts o = {0};
    struct fire_opts f = {.id = ""};
    struct args a = {.name = "fire",
                     .usage = fire_usage,
                     .min = 2,
                     .max = 2,
                     .own = fire_opt,
                     .ctx = &f};
    int ec = parse_args(&a, &o, argc, argv);
    if (ec)
        return ec < 0 ? EXIT_OK : ec;
    if (!f.data_file) {
        cli_error("fire: --data FILE is required\n\n%s", fire_usage);
        return EXIT_USAGE;
    }
    const char **pos = a.pos, *data_file = f.data_file,
               *prev_file = f.prev_file, *id = f.id;
    char *data, *prev = NULL;
    ec = read_json_file(&data, g, data_file, "--data", "the record's data",
                        false);
    if (!ec && prev_file)
        ec = read_json_file(&prev, g, prev_file, "--previous",
                            "the record's data before the change", false);
    if (ec) {
        free(data);
        free(prev);
        return ec;
    }
    struere_runtime *rt;
    if ((ec = open_runtime(g, &o, &rt))) {
        free(data);
        free(prev);
        return ec;
    }
    struere_event ev = {
        pos[0], pos[1], id, data, strlen(data), prev, prev ? strlen(prev) : 0};
    char *out = NULL;
    size_t len;
    struere_error err;
    int rc = struere_automations_fire(&out, &len, rt, &ev, &err);
    if (rc < 0) {
        cli_error("fire: %s", err.message);
        ec = exit_for(rc);
    } else {
        rtout_json(stdout, out, len, o.json);
    }
    struere_free(out);
    free(data);
    free(prev);
    struere_runtime_free(rt);
    return ec;
}

/* ---- eval ---- */

static const char eval_usage[] =
    "usage: struere eval list [--json]\n"
    "       struere eval plan [SUITE]\n"
    "\n"
    "list: the eval suites of the eval bundle, with their agent and number\n"
    "of cases. plan: every case (of SUITE, or of all suites) as one JSON\n"
    "line for an external runner: {\"suite\",\"agent\",\"case\",\"index\",\n"
    "\"channel\",\"contextParams\",\"turns\",\"finalAssertions\","
    "\"judgeModel\",\n"
    "\"judgePrompt\",\"judgeContext\",\"tags\"} (absent fields omitted).\n"
    "Needs an eval key or bundle.\n";

/* Prints the cases of one suite body as JSON lines. */
static int plan_suite(const char *slug, const char *body, size_t len)
{
    int rc = rtout_plan_suite(stdout, slug, body, len);
    if (rc == STRUERE_ENOMEM) {
        cli_error("out of memory");
        return EXIT_IO;
    }
    if (rc < 0) {
        cli_error("eval suite '%s' has no cases in the bundle", slug);
        return EXIT_IO;
    }
    return EXIT_OK;
}

int cmd_eval(const struct cli *g, int argc, char **argv)
{
    struct rt_opts o = {0};
    struct args a = {.name = "eval", .usage = eval_usage, .min = 1, .max = 2};
    int ec = parse_args(&a, &o, argc, argv);
    if (ec)
        return ec < 0 ? EXIT_OK : ec;
    const char **pos = a.pos;
    int npos = a.npos;
    if ((strcmp(pos[0], "list") && strcmp(pos[0], "plan")) ||
        (npos == 2 && !strcmp(pos[0], "list"))) {
        fprintf(stderr, "%s", eval_usage);
        return EXIT_USAGE;
    }
    struere_runtime *rt;
    if ((ec = open_runtime(g, &o, &rt)))
        return ec;
    const struere_bundle *b = struere_runtime_bundle(rt);
    if (struere_runtime_env(rt) != STRUERE_ENV_EVAL) {
        cli_error("eval suites live in the eval bundle; this is %s (use an "
                  "sk_eval_ key)",
                  struere_env_name(struere_runtime_env(rt)));
        struere_runtime_free(rt);
        return EXIT_INVALID;
    }
    size_t n = struere_bundle_count(b, STRUERE_KIND_EVAL);
    if (!strcmp(pos[0], "plan") && npos == 2) {
        const char *body;
        size_t len;
        if (struere_bundle_lookup(&body, &len, b, STRUERE_KIND_EVAL, pos[1],
                                  NULL) < 0) {
            cli_error("no eval suite '%s' (see: struere eval list)", pos[1]);
            ec = EXIT_INVALID;
        } else {
            ec = plan_suite(pos[1], body, len);
        }
        struere_runtime_free(rt);
        return ec;
    }
    if (!strcmp(pos[0], "plan")) {
        for (size_t i = 0; i < n && !ec; i++) {
            const char *slug, *body;
            size_t len;
            struere_bundle_entry(&slug, &body, &len, b, STRUERE_KIND_EVAL, i,
                                 NULL);
            ec = plan_suite(slug, body, len);
        }
    } else {
        rtout_eval_list(stdout, b, o.json);
    }
    struere_runtime_free(rt);
    return ec;
}
