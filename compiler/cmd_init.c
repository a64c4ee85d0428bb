/*
 * cmd_init.c - `struere init` and `struere add`: write definitions from
 * the embedded scaffolding templates (compiler/scaffold/), never
 * overwriting a file.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "cli.h"
#include "embedded.h"
#include "kinds.h"
#include "limits.h"
#include "slug.h"
#include "store.h"

/* init and add are the program: out of memory they stop with a message
 * and exit status 3, as they always did; the arena itself (library code)
 * only returns NULL. */
static void *or_exit(void *p)
{
    if (!p) {
        fputs("struere: out of memory\n", stderr);
        exit(EXIT_IO);
    }
    return p;
}
#define arena_alloc(...) or_exit(arena_alloc(__VA_ARGS__))
#define arena_strdup(...) ((char *)or_exit(arena_strdup(__VA_ARGS__)))
#define arena_strndup(...) ((char *)or_exit(arena_strndup(__VA_ARGS__)))
#define arena_printf(...) ((char *)or_exit(arena_printf(__VA_ARGS__)))
#define slug_from_name(...) ((char *)or_exit(slug_from_name(__VA_ARGS__)))
#define slug_display_name(...) ((char *)or_exit(slug_display_name(__VA_ARGS__)))

static const char add_usage[] =
    "usage: struere add KIND NAME\n"
    "\n"
    "Scaffolds one definition file named after NAME's slug:\n"
    "  agent       agents/<slug>.md      (YAML front matter + prompt)\n"
    "  data        data/<slug>.yaml      (a data type)\n"
    "  role        roles/<slug>.yaml\n"
    "  automation  automations/<slug>.yaml\n"
    "  tool        tools/<name>.yaml     (name: slug with '_' for '-')\n"
    "  eval        evals/<slug>.eval.yaml\n"
    "  fixture     fixtures/<slug>.fixture.yaml\n"
    "Never overwrites a file.\n";

static const char init_usage[] =
    "usage: struere init [DIR]\n"
    "\n"
    "Creates a project in DIR (default: the current directory): struere.yaml\n"
    "and one definition of each kind, named 'example', that check clean and\n"
    "reference each other. Runs 'git init' when DIR is not inside a git\n"
    "repository (the store of compiled bundles). Never overwrites a file.\n";

static const struct {
    const char *word;
    enum kind kind;
} kind_words[] = {
    {"agent", KIND_AGENT},
    {"data", KIND_DATA},
    {"data-type", KIND_DATA},
    {"datatype", KIND_DATA},
    {"type", KIND_DATA},
    {"role", KIND_ROLE},
    {"automation", KIND_AUTOMATION},
    {"trigger", KIND_AUTOMATION},
    {"tool", KIND_TOOL},
    {"eval", KIND_EVAL},
    {"suite", KIND_EVAL},
    {"fixture", KIND_FIXTURE},
};

static const char *const scaffold_files[KIND_COUNT] = {
    [KIND_AGENT] = "agent.md",  [KIND_DATA] = "data",
    [KIND_ROLE] = "role",       [KIND_AUTOMATION] = "automation",
    [KIND_TOOL] = "tool",       [KIND_EVAL] = "eval",
    [KIND_FIXTURE] = "fixture", [KIND_TEST] = "test",
};

/* The definitions a scaffold refers to: @AGENT@, @DATA@, @ROLE@. */
struct scaffold_refs {
    const char *agent, *data, *role;
};

/* Template text with @NAME@, @SLUG@, @TOOLNAME@ and the references
 * replaced. */
static char *render(struct arena *a, const char *tmpl, const char *name,
                    const char *slug, const struct scaffold_refs *refs)
{
    char *tool = arena_strdup(a, slug);
    for (char *p = tool; *p; p++)
        if (*p == '-')
            *p = '_';
    size_t cap = strlen(tmpl) * 2 + 1024, used = 0;
    char *out = arena_alloc(a, cap);
    for (const char *t = tmpl; *t;) {
        const char *sub = NULL;
        size_t skip = 0;
        if (!strncmp(t, "@NAME@", 6)) {
            sub = name;
            skip = 6;
        } else if (!strncmp(t, "@SLUG@", 6)) {
            sub = slug;
            skip = 6;
        } else if (!strncmp(t, "@TOOLNAME@", 10)) {
            sub = tool;
            skip = 10;
        } else if (!strncmp(t, "@AGENT@", 7)) {
            sub = refs->agent;
            skip = 7;
        } else if (!strncmp(t, "@DATA@", 6)) {
            sub = refs->data;
            skip = 6;
        } else if (!strncmp(t, "@ROLE@", 6)) {
            sub = refs->role;
            skip = 6;
        }
        /* Inside a YAML double-quoted string, escape " and \. */
        bool quoted = sub == name && used > 0 && out[used - 1] == '"';
        size_t need = sub ? 2 * strlen(sub) : 1;
        if (used + need + 1 >= cap) {
            char *bigger = arena_alloc(a, cap * 2 + need);
            memcpy(bigger, out, used);
            out = bigger;
            cap = cap * 2 + need;
        }
        if (sub) {
            for (const char *c = sub; *c; c++) {
                if (quoted && (*c == '"' || *c == '\\'))
                    out[used++] = '\\';
                out[used++] = *c;
            }
            t += skip;
        } else {
            out[used++] = *t++;
        }
    }
    out[used] = '\0';
    return out;
}

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

/* Whether path resolves inside the project directory dir (both exist). */
static bool inside_project(const char *dir, const char *path)
{
    char *real_dir = realpath(dir, NULL), *real_sub = realpath(path, NULL);
    size_t n = real_dir ? strlen(real_dir) : 0;
    bool inside = real_dir && real_sub && !strncmp(real_sub, real_dir, n) &&
                  (real_sub[n] == '/' || real_sub[n] == '\0' || n == 1);
    free(real_dir);
    free(real_sub);
    return inside;
}

/* Writes text to dir/rel, creating directories; refuses to overwrite. */
static int write_new(const char *dir, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (mkdir_p(path) < 0) {
        cli_error("cannot create %s: %s", path, strerror(errno));
        return EXIT_IO;
    }
    /* Never write through a directory link that leaves the project. */
    if (!inside_project(dir, path)) {
        cli_error("refused: %.*s resolves outside the project directory",
                  (int)(strrchr(rel, '/') ? strrchr(rel, '/') - rel : 0), rel);
        return EXIT_INVALID;
    }
    *slash = '/';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        if (errno == EEXIST) {
            cli_error("%s already exists; not overwriting it", rel);
            return EXIT_INVALID;
        }
        cli_error("cannot create %s: %s", rel, strerror(errno));
        return EXIT_IO;
    }
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    if (w < 0 || (size_t)w != len || close(fd) < 0) {
        cli_error("cannot write %s: %s", rel, strerror(errno));
        unlink(path);
        return EXIT_IO;
    }
    printf("created %s\n", rel);
    return EXIT_OK;
}

static char *def_path(struct arena *a, enum kind k, const char *slug)
{
    const struct kind_ops *ops = &kind_table[k];
    if (k == KIND_AGENT)
        return arena_printf(a, "%s/%s.md", ops->dir, slug);
    if (k == KIND_TOOL) {
        char *tool = arena_strdup(a, slug);
        for (char *p = tool; *p; p++)
            if (*p == '-')
                *p = '_';
        return arena_printf(a, "%s/%s%s", ops->dir, tool, ops->suffix);
    }
    return arena_printf(a, "%s/%s%s", ops->dir, slug, ops->suffix);
}

/* Whether a definition of kind k named slug already exists in any of
 * the kind's spellings (agents: .md, .yaml, .yml). */
static const char *existing(struct arena *a, const char *dir, enum kind k,
                            const char *slug)
{
    const struct kind_ops *ops = &kind_table[k];
    const char *exts[] = {ops->suffix, ".yml", ".md", ".eval.yml",
                          ".fixture.yml"};
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        if (i == 2 && k != KIND_AGENT)
            continue;
        if ((i == 3 && k != KIND_EVAL) || (i == 4 && k != KIND_FIXTURE))
            continue;
        if (i == 1 && (k == KIND_EVAL || k == KIND_FIXTURE || k == KIND_TEST))
            continue;
        char *rel = arena_printf(a, "%s/%s%s", ops->dir, slug, exts[i]);
        if (k == KIND_TOOL) {
            rel = def_path(a, k, slug);
            if (i)
                continue;
        }
        char *full = arena_printf(a, "%s/%s", dir, rel);
        if (access(full, F_OK) == 0)
            return rel;
    }
    return NULL;
}

/* The slug of kind k's first definition file (by name) in dir, or own
 * (the definition being added), or "example". */
static const char *first_slug(struct arena *a, const char *dir, enum kind k,
                              const char *own)
{
    if (own)
        return own;
    const struct kind_ops *ops = &kind_table[k];
    const char *kind_dir = arena_printf(a, "%s/%s", dir, ops->dir);
    /* A kind directory linked out of the project is not listed. */
    DIR *d = inside_project(dir, kind_dir) ? opendir(kind_dir) : NULL;
    const char *best = NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n), slen = strlen(ops->suffix);
        size_t stem = 0;
        if (n[0] == '.')
            continue;
        if (len > slen && !strcmp(n + len - slen, ops->suffix))
            stem = len - slen;
        else if (k == KIND_AGENT && len > 3 && !strcmp(n + len - 3, ".md"))
            stem = len - 3;
        if (!stem)
            continue;
        char *s = arena_strndup(a, n, stem);
        if (!best || strcmp(s, best) < 0)
            best = s;
    }
    if (d)
        closedir(d);
    return best ? best : "example";
}

static int scaffold(struct arena *a, const char *dir, enum kind k,
                    const char *name, const char *slug,
                    const struct scaffold_refs *refs)
{
    const struct embedded_file *t =
        embedded_find(embedded_scaffold, scaffold_files[k]);
    if (!t) {
        cli_error("internal error: no scaffold for %s", kind_table[k].name);
        return EXIT_IO;
    }
    return write_new(dir, def_path(a, k, slug),
                     render(a, t->text, name, slug, refs));
}

int cmd_add(const struct cli *g, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (cli_wants_help(argv[i])) {
            fputs(add_usage, stdout);
            return EXIT_OK;
        }
    if (argc != 3) {
        fputs(add_usage, stderr);
        return EXIT_USAGE;
    }
    if (argv[1][0] == '-' || argv[2][0] == '-') {
        cli_error("add: unknown option '%s'\n",
                  argv[1][0] == '-' ? argv[1] : argv[2]);
        fputs(add_usage, stderr);
        return EXIT_USAGE;
    }
    if (strpbrk(argv[2], "\n\r\t")) {
        cli_error("add: NAME cannot contain control characters");
        return EXIT_USAGE;
    }
    int kind = -1;
    for (size_t i = 0; i < sizeof(kind_words) / sizeof(kind_words[0]); i++)
        if (!strcmp(argv[1], kind_words[i].word))
            kind = (int)kind_words[i].kind;
    if (kind < 0) {
        cli_error("unknown kind '%s': use agent, data, role, automation, "
                  "tool, eval or fixture",
                  argv[1]);
        return EXIT_USAGE;
    }
    struct arena a;
    arena_init(&a);
    char *slug = slug_from_name(&a, argv[2]);
    int rc;
    size_t limit = kind == KIND_TOOL ? LIMIT_TOOL_NAME_BYTES : LIMIT_SLUG_BYTES;
    if (!*slug) {
        cli_error("'%s' has no letters or digits to make a slug from", argv[2]);
        rc = EXIT_USAGE;
    } else if (strlen(slug) > limit) {
        cli_error("add: the %s would be too long: %zu bytes (the limit is %zu)",
                  kind == KIND_TOOL ? "tool name" : "slug", strlen(slug),
                  limit);
        rc = EXIT_USAGE;
    } else if (access(arena_printf(&a, "%s/struere.yaml", g->dir), F_OK)) {
        cli_error("no struere.yaml in %s: run 'struere init' first, or use "
                  "-C DIR",
                  g->dir);
        rc = EXIT_INVALID;
    } else if (existing(&a, g->dir, (enum kind)kind, slug)) {
        cli_error("%s already exists; not overwriting it",
                  existing(&a, g->dir, (enum kind)kind, slug));
        rc = EXIT_INVALID;
    } else {
        bool plain = !strcmp(slug, argv[2]);
        const char *name = plain ? slug_display_name(&a, slug) : argv[2];
        /* Refer to definitions the project has, so the new file checks
         * clean where it can; the first by name, else "example". */
        struct scaffold_refs refs = {
            first_slug(&a, g->dir, KIND_AGENT,
                       kind == KIND_AGENT ? slug : NULL),
            first_slug(&a, g->dir, KIND_DATA, kind == KIND_DATA ? slug : NULL),
            first_slug(&a, g->dir, KIND_ROLE, kind == KIND_ROLE ? slug : NULL),
        };
        rc = scaffold(&a, g->dir, (enum kind)kind, name, slug, &refs);
    }
    arena_free(&a);
    return rc;
}

int cmd_init(const struct cli *g, int argc, char **argv)
{
    if (argc >= 2 && cli_wants_help(argv[1])) {
        fputs(init_usage, stdout);
        return EXIT_OK;
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        if (argc == 2)
            cli_error("init: unknown option '%s'\n", argv[1]);
        fputs(init_usage, stderr);
        return EXIT_USAGE;
    }
    struct arena a;
    arena_init(&a);
    const char *dir = argc == 2
                          ? (argv[1][0] == '/' || !strcmp(g->dir, ".")
                                 ? argv[1]
                                 : arena_printf(&a, "%s/%s", g->dir, argv[1]))
                          : g->dir;
    int rc = EXIT_OK;
    char *cfg = arena_printf(&a, "%s/struere.yaml", dir);
    if (access(cfg, F_OK) == 0) {
        cli_error("%s is already a struere project (struere.yaml exists)", dir);
        rc = EXIT_INVALID;
        goto done;
    }
    /* Refuse before writing anything, so a refusal leaves no half
     * project behind. */
    for (int k = 0; k < KIND_COUNT; k++) {
        const char *there = existing(&a, dir, (enum kind)k, "example");
        if (there) {
            cli_error("%s/%s already exists; not overwriting it", dir, there);
            rc = EXIT_INVALID;
            goto done;
        }
    }
    char err[512];
    if (!store_available(err, sizeof(err))) {
        cli_error("%s", err);
        rc = EXIT_IO;
        goto done;
    }
    if (mkdir_p(dir) < 0) {
        cli_error("cannot create %s: %s", dir, strerror(errno));
        rc = EXIT_IO;
        goto done;
    }
    char real[4096];
    const char *base = realpath(dir, real) ? strrchr(real, '/') + 1 : dir;
    char *pslug = slug_from_name(&a, *base ? base : "project");
    if (!*pslug)
        pslug = "project";
    const struct embedded_file *t = embedded_find(embedded_scaffold, "project");
    static const struct scaffold_refs together = {"example", "example",
                                                  "example"};
    rc = t ? write_new(dir, "struere.yaml",
                       render(&a, t->text, slug_display_name(&a, pslug), pslug,
                              &together))
           : EXIT_IO;
    for (int k = 0; k < KIND_COUNT && rc == EXIT_OK; k++)
        rc = scaffold(&a, dir, (enum kind)k, "Example", "example", &together);
    if (rc != EXIT_OK)
        goto done;
    bool created;
    if (store_ensure_repository(dir, &created, err, sizeof(err)) < 0) {
        cli_error("%s", err);
        rc = EXIT_IO;
        goto done;
    }
    if (created)
        printf("initialised a git repository in %s (the bundle store)\n", dir);
    printf("next: struere%s%s check\n", strcmp(dir, ".") ? " -C " : "",
           strcmp(dir, ".") ? dir : "");
done:
    arena_free(&a);
    return rc;
}
