/*
 * project.c - finds the definition files, kind by kind, and parses and
 * validates each one on a pool of worker threads (one arena each) as soon
 * as its kind is listed: YAML, schema, environment overlays, identity,
 * and the kind's single-file checks.
 */
#include "project.h"

#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defcache.h"
#include "jsonmem.h"
#include "kinds.h"
#include "sha256.h"
#include "limits.h"
#include "markdown.h"
#include "node.h"
#include "pool.h"
#include "progress.h"
#include "slug.h"
#include "source.h"
#include "suggest.h"
#include "yaml_load.h"

static const char *const identity_keys[] = {"name", "slug", NULL};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

/* A name listed in a kind's directory, and whether the listing said it
 * is a regular file (d_type; many file systems say, some do not). */
struct listed {
    const char *name;
    bool regular;
};

static int cmp_listed(const void *a, const void *b)
{
    return strcmp(((const struct listed *)a)->name,
                  ((const struct listed *)b)->name);
}

/* Why a project file was not read (read_file's negative returns). */
enum {
    READ_NOT_REGULAR = -1, /* a FIFO, device or socket (*mode says which) */
    READ_OUTSIDE = -2,     /* a symbolic link leading out of the project */
    READ_DANGLING = -3,    /* a symbolic link to nothing */
};

/* Whether the resolved path real lies in the project directory. */
static bool inside_project(const struct project *p, const char *real)
{
    const char *root = p->real_dir;
    if (!root)
        return false;
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return !strncmp(real, root, n) && (real[n] == '/' || real[n] == '\0');
}

/* Where project path full really is, following symbolic links, when it
 * stays inside the project: 0 with *real set (arena memory), or one of
 * READ_OUTSIDE, READ_DANGLING, or an errno value. */
static int resolve_inside(const struct project *p, struct arena *a,
                          const char *full, char **real)
{
    char *buf = realpath(full, NULL);
    if (!buf)
        return errno == ENOENT ? READ_DANGLING : errno;
    bool inside = inside_project(p, buf);
    if (inside)
        *real = arena_strdup(a, buf);
    free(buf);
    if (inside && !*real)
        return ENOMEM;
    return inside ? 0 : READ_OUTSIDE;
}

/* Reads project file rel (relative to the project directory), looked up
 * as name from descriptor at (project_file_at; name NULL: by its whole
 * path), into arena memory (NUL-terminated). Project files are regular
 * files inside the project: a symbolic link is followed only when it
 * resolves inside the project directory (checked before it is opened, so
 * a link to a device is never opened), and nothing that is not a regular
 * file is opened in a way that could block (O_NONBLOCK, O_NOFOLLOW, then
 * fstat). A file its directory's listing said is regular is opened
 * without that look (a FIFO swapped in since is then opened, without
 * blocking, and refused). Returns 0, an errno value, or one of the
 * READ_* codes (*mode is the file's type for READ_NOT_REGULAR). */
static int read_file(const struct project *p, struct arena *a, const char *rel,
                     int at, const char *name, bool listed_regular,
                     bool on_heap, char **out, size_t *len, size_t limit,
                     bool *too_big, struct file_stat *fs, mode_t *mode)
{
    *too_big = false;
    const char *path = name ? NULL : arena_path(a, p->dir, rel);
    if (!name)
        name = path;
    struct stat st;
    if (!name)
        return ENOMEM;
    /* Listed as a regular file: opened at once, without looking first
     * (a path lookup less). What the descriptor is gets checked below
     * as after a look; one that became a link since is looked at. */
    int fd = -1;
    if (listed_regular) {
        fd = openat(at, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0 && errno != ELOOP)
            return errno;
        if (fd >= 0)
            goto opened;
    }
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno;
    if (S_ISLNK(st.st_mode)) {
        char *real;
        if (!path && !(path = arena_path(a, p->dir, rel)))
            return ENOMEM;
        int r = resolve_inside(p, a, path, &real);
        if (r == READ_OUTSIDE && stat(path, &st) == 0)
            *mode = st.st_mode; /* its type, for the message (not opened) */
        if (r)
            return r;
        path = real;
        at = AT_FDCWD;
        name = real;
        if (lstat(path, &st) < 0)
            return errno;
    }
    *mode = st.st_mode;
    if (S_ISDIR(st.st_mode))
        return EISDIR;
    if (!S_ISREG(st.st_mode))
        return READ_NOT_REGULAR;
    fd = openat(at, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0)
        return errno == ELOOP ? READ_OUTSIDE : errno; /* swapped meanwhile */
opened:
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return e;
    }
    *mode = st.st_mode;
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? EISDIR : READ_NOT_REGULAR;
    }
    file_stat_set(fs, &st);
    if ((size_t)st.st_size > limit) {
        *too_big = true;
        *len = (size_t)st.st_size;
        close(fd);
        return 0;
    }
    char *buf = on_heap ? malloc((size_t)st.st_size + 1)
                        : arena_alloc(a, (size_t)st.st_size + 1);
    if (!buf && on_heap)
        a->failed = 1; /* out of memory, as the arena would say */
    if (!buf) {
        close(fd);
        return ENOMEM;
    }
    size_t got = read_all(fd, buf, (size_t)st.st_size);
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

/* What a file of this type is, for messages. */
static const char *file_type_name(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO (named pipe)";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* Reports why project file src could not be read (err from read_file).
 * Returns whether it is an I/O error (exit 3) rather than invalid input. */
static bool report_unreadable(struct diag_list *diags, struct source *src,
                              int err, mode_t mode)
{
    switch (err) {
    case READ_NOT_REGULAR:
        diag_add(diags, SEV_ERROR, "not-regular-file", src, 0, 0,
                 "definition files must be regular files; replace it with "
                 "one, or remove it",
                 "not a regular file: %s", file_type_name(mode));
        return false;
    case READ_OUTSIDE:
        if (mode && !S_ISREG(mode) && !S_ISDIR(mode))
            diag_add(diags, SEV_ERROR, "outside-project", src, 0, 0,
                     "definition files must be regular files in the project",
                     "refused: a symbolic link that resolves outside the "
                     "project directory, to %s (not a regular file)",
                     file_type_name(mode));
        else
            diag_add(diags, SEV_ERROR, "outside-project", src, 0, 0,
                     "copy the file into the project instead of linking to "
                     "it",
                     "refused: a symbolic link that resolves outside the "
                     "project directory");
        return false;
    case READ_DANGLING:
        diag_add(diags, SEV_ERROR, "io-error", src, 0, 0,
                 "point the link at a file in the project, or remove it",
                 "cannot read file: a symbolic link to nothing");
        return true;
    default:
        diag_add(diags, SEV_ERROR, "io-error", src, 0, 0, NULL,
                 "cannot read file: %s", strerror(err));
        return true;
    }
}

/* ---- per-file work --------------------------------------------------------
 */

static void inject_prompt(struct arena *a, struct def *d, struct node *root)
{
    struct markdown *md = d->md;
    const char *body = d->src->text + md->body_offset;
    size_t blen = md->body_len;
    int line = md->body_line;
    /* A blank line after the front matter is layout, not prompt. */
    for (size_t b; (b = source_break_len(body, body + blen)); line++) {
        body += b;
        blen -= b;
    }
    struct node *given = node_get_key(root, "systemPrompt");
    if (given) {
        diag_error(&d->diags, given, "duplicate-prompt",
                   "remove 'systemPrompt' from the front matter; the "
                   "Markdown body is the prompt",
                   "a Markdown agent has its prompt in the body, and "
                   "'systemPrompt' here too");
        return;
    }
    if (blen > LIMIT_STRING_BYTES) {
        diag_add(&d->diags, SEV_ERROR, "string-too-long", d->src, line, 1,
                 "shorten the prompt",
                 "the system prompt is too long: %zu bytes (the limit is %u)",
                 blen, LIMIT_STRING_BYTES);
        blen = LIMIT_STRING_BYTES; /* check the rest as far as it goes */
        while (blen > 0 && ((unsigned char)body[blen] & 0xC0) == 0x80)
            blen--;
    }
    if (blen == 0)
        line = md->body_line - 1; /* the closing '---': nothing follows */
    struct node *kids = arena_alloc(a, 2 * (root->n + 1) * sizeof(*kids));
    if (!kids)
        return;  /* out of memory: the arena says so */
    if (root->n) /* an empty map has no array to copy */
        memcpy(kids, root->kids, 2 * root->n * sizeof(*kids));
    struct node *key = &kids[2 * root->n], *value = key + 1;
    /* The body usually runs to the end of the file, whose text is
     * NUL-terminated and kept: the prompt is then not copied. */
    const char *text = body[blen] == '\0' ? body : arena_strndup(a, body, blen);
    if (!text)
        return; /* out of memory: the arena says so */
    node_init_string(key, "systemPrompt", 12, d->src, md->body_line, 1);
    node_init_string(value, text, blen, d->src, line, 1);
    root->kids = kids;
    root->n++;
}

/* Every environment's view starts as the base definition (without its
 * `environments`, *base); returns the overlays map, or NULL. */
static struct node *base_views(struct arena *a, struct def *d,
                               struct node **base)
{
    struct node *envs = node_get(d->root, "environments");
    *base = envs ? node_without(a, d->root, "environments") : d->root;
    if (!*base) /* out of memory: reported as that, the views unused */
        *base = d->root;
    for (int e = 0; e < ENV_COUNT; e++)
        d->view[e] = *base;
    return envs && envs->type == NODE_MAP ? envs : NULL;
}

/* Environment e's view: the base with overlay merged over it. */
static void overlay_view(struct project *p, struct arena *a, struct def *d,
                         int e, struct node *base, struct node *overlay)
{
    d->view[e] = node_merge(a, base, overlay);
    if (!d->view[e]) /* out of memory: reported as that */
        d->view[e] = base;
    d->has_overlay[e] = true;
    __atomic_fetch_or(&p->overlay_envs, 1u << e, __ATOMIC_RELAXED);
}

static int env_index(const char *name)
{
    for (int j = 0; j < ENV_COUNT; j++)
        if (!strcmp(name, env_names[j]))
            return j;
    return -1;
}

static void overlays(struct project *p, struct arena *a, struct def *d,
                     const struct schema *schema, const char *what)
{
    const struct kind_ops *ops = &kind_table[d->kind];
    struct node *base;
    struct node *envs = base_views(a, d, &base);
    if (!envs)
        return; /* a wrong type is already reported by the schema */
    for (size_t i = 0; i < envs->n; i++) {
        struct node *k = &envs->kids[2 * i];
        struct node *v = &envs->kids[2 * i + 1];
        int e = env_index(k->str);
        if (e < 0) {
            struct suggest sg;
            suggest_init(&sg, k->str);
            for (int j = 0; j < ENV_COUNT; j++)
                suggest_offer(&sg, env_names[j]);
            char hint[128];
            snprintf(hint, sizeof(hint), "did you mean '%s'?",
                     suggest_best(&sg) ? suggest_best(&sg) : "");
            diag_error(&d->diags, k, "unknown-environment",
                       suggest_best(&sg)
                           ? hint
                           : "environments are development, production "
                             "and eval",
                       "unknown environment '%s'", k->str);
            continue;
        }
        if (v->type != NODE_MAP) {
            diag_error(&d->diags, v, "wrong-type",
                       "write the fields to change under the environment",
                       "'environments.%s' must be a map, not %s", k->str,
                       node_type_name(v->type));
            continue;
        }
        if (!(ops->envs & (1u << e)))
            diag_warning(&d->diags, k, "overlay-unused", "remove the overlay",
                         "%s definitions are not compiled into the %s "
                         "environment, so this overlay is never used",
                         ops->label, env_names[e]);
        /* Identity keys are reported and left out; the rest applies. */
        struct node *kept = v;
        for (size_t j = 0; j < v->n; j++) {
            struct node *ok_key = &v->kids[2 * j];
            bool identity = !strcmp(ok_key->str, ops->slug_key);
            for (const char *const *id = identity_keys; *id; id++)
                identity = identity || !strcmp(ok_key->str, *id);
            if (identity) {
                diag_error(&d->diags, ok_key, "overlay-identity",
                           "identity is shared by every environment; "
                           "change it in the base definition",
                           "'%s' cannot be overlaid per environment",
                           ok_key->str);
                struct node *without = node_without(a, kept, ok_key->str);
                kept = without ? without : kept; /* else out of memory */
            } else if (!strcmp(ok_key->str, "environments")) {
                diag_error(&d->diags, ok_key, "overlay-identity",
                           "move these overlays to the top-level "
                           "'environments'",
                           "overlays cannot contain 'environments'");
                struct node *without = node_without(a, kept, ok_key->str);
                kept = without ? without : kept;
            }
        }
        overlay_view(p, a, d, e, base, kept);
        char label[64];
        snprintf(label, sizeof(label), "%s (%s)", what, env_names[e]);
        schema_validate(schema, d->view[e], label, &d->diags);
    }
}

static void identify(struct arena *a, struct def *d)
{
    const struct kind_ops *ops = &kind_table[d->kind];
    struct node *n = node_get(d->root, ops->slug_key);
    if (n && n->type == NODE_STRING && node_len(n)) {
        d->slug = n->str;
        d->slug_node = n;
    } else if (d->kind == KIND_ROLE) {
        /* Role identity: slug, else derived from name (as Struere does). */
        struct node *name = node_get(d->root, "name");
        if (name && name->type == NODE_STRING && node_len(name)) {
            d->slug = slug_from_name(a, name->str);
            d->slug_node = name;
            if (d->slug && !*d->slug) {
                diag_error(&d->diags, name, "bad-slug",
                           "add 'slug:' with lowercase letters, digits and "
                           "hyphens",
                           "cannot derive a slug from name '%s'", name->str);
                d->slug = NULL;
            }
        }
    }
    if (!d->slug)
        return;
    /* A slug names files (limits.h): one too long cannot be committed. */
    size_t limit =
        d->kind == KIND_TOOL ? LIMIT_TOOL_NAME_BYTES : LIMIT_SLUG_BYTES;
    size_t slen = strlen(d->slug);
    if (slen > limit) {
        const char *what = d->kind == KIND_TOOL ? "tool name"
                           : d->slug_node == n  ? "slug"
                                               : "the slug derived from 'name'";
        diag_error(&d->diags, d->slug_node, "slug-too-long",
                   d->kind == KIND_TOOL
                       ? "model providers accept tool names of at most 64 "
                         "characters"
                   : d->slug_node == n
                       ? "shorten it: slugs name files in the project and "
                         "in the store"
                       : "add a shorter 'slug:', or shorten the name",
                   "%s is too long: %zu bytes (the limit is %zu)", what, slen,
                   limit);
        d->slug = NULL;
        return;
    }
    /* The file is named after the definition. */
    const char *base = strrchr(d->path, '/');
    base = base ? base + 1 : d->path;
    size_t stem = strlen(base);
    if (ends_with(base, ops->suffix))
        stem -= strlen(ops->suffix);
    else if (ends_with(base, ".eval.yml") || ends_with(base, ".fixture.yml"))
        stem = strcspn(base, ".");
    else if (ends_with(base, ".md"))
        stem -= 3;
    else if (ends_with(base, ".yml"))
        stem -= 4;
    /* An invalid identity has its own error; renaming would not help. */
    bool plausible =
        strspn(d->slug, "abcdefghijklmnopqrstuvwxyz0123456789-_.") ==
        strlen(d->slug);
    if (plausible &&
        (strlen(d->slug) != stem || strncmp(d->slug, base, stem))) {
        char hint[300];
        snprintf(hint, sizeof(hint), "rename the file to %s/%s%s", ops->dir,
                 d->slug, ends_with(base, ".md") ? ".md" : ops->suffix);
        diag_warning(&d->diags, d->slug_node, "file-name", hint,
                     "file name does not match %s '%s'", ops->slug_key,
                     d->slug);
    }
}

/* d->sha256 of the file's bytes, when read and not yet hashed. */
static void hash_def(struct def *d)
{
    if (!d || d->sha256[0] || !d->src || d->src->unread)
        return;
    unsigned char h[32];
    rt_sha256(d->src->text - d->src->skipped, d->src->len + d->src->skipped, h);
    rt_sha256_hex(h, d->sha256);
}

static void load_def(struct project *p, struct arena *a, struct def *d)
{
    diag_list_init(&d->diags, a);
    char *bytes = NULL;
    size_t len = 0;
    bool too_big;
    mode_t mode = 0;
    /* A Markdown agent's prompt points into its text, which stays, and
     * so does struere.yaml's (read before hash_on_read is known); any
     * other file's text is let go once parsed (source_release). */
    bool keep = (d->kind == KIND_AGENT && ends_with(d->path, ".md")) ||
                d->kind == KIND_PROJECT;
    const char *name;
    int at = project_file_at(p, d, &name);
    int err =
        read_file(p, a, d->path, at, name, d->listed_regular, !keep, &bytes,
                  &len, LIMIT_FILE_BYTES, &too_big, &d->stat, &mode);
    /* A file not read is reported with a source of no text, made only
     * then (a source per definition read is one too many). */
    struct source *nosrc =
        err || too_big ? source_from_bytes(a, d->path, "", 0) : NULL;
    if ((err || too_big) && !nosrc)
        return; /* out of memory: the arena says so */
    if (err) {
        if (report_unreadable(&d->diags, nosrc, err, mode))
            __atomic_store_n(&p->io_error, 1, __ATOMIC_RELAXED);
        return;
    }
    if (too_big) {
        diag_add(&d->diags, SEV_ERROR, "file-too-large", nosrc, 0, 0,
                 "split it into several definitions",
                 "file is too large: %zu bytes (the limit is %u)", len,
                 LIMIT_FILE_BYTES);
        return;
    }
    struct source *src = keep ? source_adopt(a, d->path, bytes, len)
                              : source_adopt_owned(a, d->path, bytes, len);
    if (!src)
        return;
    src->stat = &d->stat;
    d->src = src;
    project_parse_def(p, a, d, bytes, len);
    if (p->hash_on_read)
        hash_def(d);
    source_release(src);
}

/* The definition `i` of all kinds, in kind order. */
static struct def *def_at(struct project *p, size_t i)
{
    for (int k = 0; k < KIND_COUNT; k++) {
        if (i < p->ndefs[k])
            return &p->defs[k][i];
        i -= p->ndefs[k];
    }
    return NULL;
}

static void hash_one(void *ctx, size_t i, unsigned w)
{
    (void)w;
    hash_def(def_at(ctx, i));
}

void project_hash_sources(struct project *p)
{
    size_t total = 0;
    for (int k = 0; k < KIND_COUNT; k++)
        total += p->ndefs[k];
    /* struere.yaml is a source like any other: its bytes are in the
     * digests too. */
    hash_def(p->config);
    pool_run(pool_threads(total), total, hash_one, p);
}

void project_parse_def(struct project *p, struct arena *a, struct def *d,
                       const char *bytes, size_t len)
{
    if (!d->diags.arena)
        diag_list_init(&d->diags, a);
    /* Files read by load_def are already a source; bytes from elsewhere
     * (the fuzzer) are copied into one. */
    if (!d->src || d->src->text - d->src->skipped != bytes)
        d->src = source_from_bytes(a, d->path, bytes, len);
    struct source *src = (struct source *)d->src;
    if (!src)
        return; /* out of memory: the arena says so */
    size_t bad = utf8_first_invalid(src->text, src->len);
    if (bad != (size_t)-1) {
        int line, col;
        source_position(src, bad, &line, &col);
        diag_add(&d->diags, SEV_ERROR, "invalid-utf8", src, line, col,
                 "save the file as UTF-8",
                 "invalid UTF-8 (byte 0x%02x at offset %zu)",
                 (unsigned char)src->text[bad], bad + src->skipped);
        return;
    }
    if (memchr(src->text, '\0', src->len)) {
        size_t off = (size_t)((const char *)memchr(src->text, '\0', src->len) -
                              src->text);
        int line, col;
        source_position(src, off, &line, &col);
        diag_add(&d->diags, SEV_ERROR, "invalid-utf8", src, line, col,
                 "remove the NUL byte; definition files are text",
                 "NUL byte at offset %zu", off + src->skipped);
        return;
    }
    int failed = 0;
    bool md = d->kind == KIND_AGENT && ends_with(d->path, ".md");
    if (md) {
        d->md = markdown_load(a, src, &d->diags);
        if (!d->md)
            return;
        d->root = yaml_load(a, src, d->md->fm_offset, d->md->fm_len,
                            d->md->fm_line, &d->diags, &failed);
    } else {
        d->root = yaml_load(a, src, 0, src->len, 1, &d->diags, &failed);
    }
    if (!d->root) {
        if (failed)
            return;
        if (md)
            diag_add(&d->diags, SEV_ERROR, "empty-file", src, 1, 1,
                     "write the agent's fields (name, slug, version, ...) "
                     "between the --- lines",
                     "the front matter is empty");
        else if (d->kind == KIND_PROJECT)
            diag_add(&d->diags, SEV_ERROR, "empty-file", src, 1, 1,
                     "write at least 'name:' and 'version:'",
                     "struere.yaml is empty");
        else
            diag_add(&d->diags, SEV_ERROR, "empty-file", src, 1, 1,
                     "write the definition, or delete the file",
                     "the file is empty");
        return;
    }
    if (md && d->root->type == NODE_MAP)
        inject_prompt(a, d, d->root);
    const char *sname =
        d->kind == KIND_PROJECT ? "project" : kind_table[d->kind].name;
    const struct schema *schema = schema_set_get(&p->schemas, sname);
    schema_validate(schema, d->root, sname, &d->diags);
    if (d->root->type != NODE_MAP) {
        d->root = NULL;
        return;
    }
    if (d->kind == KIND_PROJECT)
        return;
    overlays(p, a, d, schema, sname);
    identify(a, d);
    const struct kind_ops *ops = &kind_table[d->kind];
    if (!ops->check_file)
        return;
    struct check_ctx c = {
        .project = p,
        .diags = &d->diags,
        .arena = a,
        .builtin_tools = schema_set_file(&p->schemas, "builtin-tools"),
    };
    for (int e = 0; e < ENV_COUNT; e++) {
        if (!(ops->envs & (1u << e)))
            continue;
        if (e > 0 && !d->has_overlay[e] && d->view[e] == d->view[0] &&
            (ops->envs & 1u))
            continue; /* same view as development: same findings */
        c.env = (enum env)e;
        ops->check_file(&c, d, d->view[e]);
    }
}

/* Completes a definition whose file the cache restored (its tree, bytes'
 * digest and stat: defcache_restore) as project_parse_def leaves a file
 * that had no problem: views per environment, identity. */
static void restore_def(struct project *p, struct arena *a, struct def *d)
{
    diag_list_init(&d->diags, a);
    /* It had no problem when it was cached: every overlay is a map for a
     * known environment, without identity keys. */
    struct node *base;
    struct node *envs = base_views(a, d, &base);
    for (size_t i = 0; envs && i < envs->n; i++) {
        int e = env_index(envs->kids[2 * i].str);
        if (e >= 0 && envs->kids[2 * i + 1].type == NODE_MAP)
            overlay_view(p, a, d, e, base, &envs->kids[2 * i + 1]);
    }
    identify(a, d);
    d->restored = true;
}

/* rel ("dir/name") of kind k (KIND_COUNT: none): from k's directory as
 * listed when it is open, else as project_file_at says. */
static int kind_file_at(const struct project *p, int k, const char *rel,
                        const char **name)
{
    const char *slash = strrchr(rel, '/');
    if (k < KIND_COUNT && p->kind_dir[k] && slash) {
        *name = slash + 1;
        return dirfd(p->kind_dir[k]);
    }
    *name = p->dir_fd > 0 ? rel : NULL;
    return p->dir_fd > 0 ? p->dir_fd : AT_FDCWD;
}

int project_file_at(const struct project *p, const struct def *d,
                    const char **name)
{
    return kind_file_at(p, d->kind < KIND_COUNT ? (int)d->kind : KIND_COUNT,
                        d->path, name);
}

int project_path_at(const struct project *p, const char *rel, const char **name)
{
    const char *slash = strchr(rel, '/');
    int k = KIND_COUNT; /* not "dir/name": no kind */
    if (slash && !strchr(slash + 1, '/'))
        for (k = 0; k < KIND_COUNT; k++)
            if (strlen(kind_table[k].dir) == (size_t)(slash - rel) &&
                !strncmp(rel, kind_table[k].dir, (size_t)(slash - rel)))
                break;
    return kind_file_at(p, k, rel, name);
}

void project_read_quoted_sources(struct project *p)
{
    /* Reports show the first LIMIT_DIAGNOSTICS (the list is sorted). */
    size_t shown =
        p->diags.n < LIMIT_DIAGNOSTICS ? p->diags.n : LIMIT_DIAGNOSTICS;
    for (size_t i = 0; i < shown; i++) {
        struct source *src = (struct source *)p->diags.items[i].src;
        if (!src || !src->unread)
            continue;
        char *bytes;
        size_t len;
        bool too_big;
        struct file_stat fs;
        mode_t mode;
        src->unread = false;
        const char *name;
        int at = project_path_at(p, src->path, &name);
        if (read_file(p, &p->arena, src->path, at, name, false, false, &bytes,
                      &len, LIMIT_FILE_BYTES, &too_big, &fs, &mode) != 0 ||
            too_big)
            continue;
        /* Quoted only from the file that was read (or cached): not from
         * one changed since. */
        if (src->stat && src->stat->known && !file_stat_same(src->stat, &fs))
            continue;
        struct source *now = source_adopt(&p->arena, src->path, bytes, len);
        if (!now)
            continue;
        unsigned id = src->id;
        const struct file_stat *st = src->stat;
        *src = *now;
        src->id = id;
        src->stat = st;
    }
}

/* Loading, fed by discovery: the kinds are listed one by one in the
 * calling thread while the workers read the files of those listed. */
struct load_job {
    struct project *p;
    const struct defcache *cache;
    /* Where each kind's items start (kind order), set as each kind is
     * listed: a worker reads only those of kinds published. */
    size_t start[KIND_COUNT + 1];
};

static void load_one(void *ctx, size_t i, unsigned w)
{
    struct load_job *j = ctx;
    int k = 0;
    while (i >= j->start[k + 1])
        k++;
    struct def *d = &j->p->defs[k][i - j->start[k]];
    struct arena *a = &j->p->worker_arenas[w].a;
    if (j->cache && defcache_restore(j->cache, j->p, a, d))
        restore_def(j->p, a, d);
    else
        load_def(j->p, a, d);
    progress_step(j->p->progress);
}

static void discover(struct project *p, enum kind k);

static void discover_all(void *ctx, struct pool_feed *feed)
{
    struct load_job *j = ctx;
    for (int k = 0; k < KIND_COUNT; k++) {
        discover(j->p, (enum kind)k);
        j->start[k + 1] = j->start[k] + j->p->ndefs[k];
        /* what load_one reads of kind k is written: published */
        pool_feed_publish(feed, j->start[k + 1]);
    }
    progress_total(j->p->progress, j->start[KIND_COUNT]);
}

/* ---- discovery ------------------------------------------------------------
 */

static bool accepts(const struct kind_ops *ops, const char *name)
{
    if (ends_with(name, ops->suffix))
        return true;
    if (ops == &kind_table[KIND_TEST]) /* exactly *.test.yaml */
        return ends_with(name, ops->suffix) &&
               strlen(name) > strlen(ops->suffix);
    if (!strcmp(ops->suffix, ".yaml") && ends_with(name, ".yml"))
        return true;
    if (!strcmp(ops->suffix, ".eval.yaml") && ends_with(name, ".eval.yml"))
        return true;
    if (!strcmp(ops->suffix, ".fixture.yaml") &&
        ends_with(name, ".fixture.yml"))
        return true;
    return ops == &kind_table[KIND_AGENT] && ends_with(name, ".md");
}

/* The kind's directory, opened for listing: from the project
 * directory's descriptor where there is one, so that the names listed
 * and the files read come from the same directory however dir is
 * re-pointed meanwhile. A link is followed only when follow is set (it
 * was checked): one that appeared since gives ELOOP. NULL with errno set
 * when it cannot be opened. */
static DIR *open_kind_dir(const struct project *p, const char *dirpath,
                          const char *rel, bool follow)
{
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    int fd =
        p->dir_fd > 0 ? openat(p->dir_fd, rel, flags) : open(dirpath, flags);
    if (fd < 0)
        return NULL;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return dir;
}

/* The kind's directory was not the same from one look to the next. */
static void kind_dir_replaced(struct project *p, const struct kind_ops *ops)
{
    diag_add(&p->diags, SEV_ERROR, "io-error", NULL, 0, 0,
             "run again once the project stops moving",
             "cannot read directory %s: it was replaced while being read",
             ops->dir);
    __atomic_store_n(&p->io_error, 1, __ATOMIC_RELAXED);
}

static void discover(struct project *p, enum kind k)
{
    const struct kind_ops *ops = &kind_table[k];
    char *dirpath = arena_path(&p->arena, p->dir, ops->dir);
    struct stat lst;
    if (!dirpath)
        return; /* out of memory: the arena says so */
    int at = p->dir_fd > 0 ? p->dir_fd : AT_FDCWD;
    const char *name = p->dir_fd > 0 ? ops->dir : dirpath;
    char *real = NULL;
    if (fstatat(at, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(lst.st_mode)) {
        /* A linked kind directory is listed only when it stays inside
         * the project: the names of files elsewhere are not printed. */
        int r = resolve_inside(p, &p->arena, dirpath, &real);
        if (r == READ_OUTSIDE) {
            diag_add(&p->diags, SEV_ERROR, "outside-project",
                     source_from_bytes(&p->arena, ops->dir, "", 0), 0, 0,
                     "make it a directory in the project",
                     "refused: directory %s/ is a symbolic link that "
                     "resolves outside the project directory",
                     ops->dir);
            return;
        }
        if (r == ENOMEM && p->arena.failed)
            return; /* out of memory: the arena says so */
        if (r == READ_DANGLING) {
            /* Nothing to list, unless the link the descriptor sees still
             * leads somewhere: the project was re-pointed meanwhile. */
            int fd = p->dir_fd > 0 ? openat(p->dir_fd, ops->dir,
                                            O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                   : -1;
            if (fd >= 0) {
                close(fd);
                kind_dir_replaced(p, ops);
            }
            return;
        }
        if (r) {
            diag_add(&p->diags, SEV_ERROR, "io-error", NULL, 0, 0, NULL,
                     "cannot read directory %s: %s", ops->dir, strerror(r));
            __atomic_store_n(&p->io_error, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    DIR *dir = open_kind_dir(p, dirpath, ops->dir, real != NULL);
    if (!dir && errno == ELOOP && !real) {
        kind_dir_replaced(p, ops); /* a link since it was looked at */
        return;
    }
    if (!dir) {
        if (errno != ENOENT) {
            diag_add(&p->diags, SEV_ERROR, "io-error", NULL, 0, 0, NULL,
                     "cannot read directory %s: %s", ops->dir, strerror(errno));
            __atomic_store_n(&p->io_error, 1, __ATOMIC_RELAXED);
        }
        return;
    }
    /* The link was checked by its path, the directory opened from the
     * descriptor: listed only when they are the same directory (the
     * project re-pointed meanwhile could make them two). */
    struct stat opened, checked;
    if (real &&
        (fstat(dirfd(dir), &opened) != 0 || stat(real, &checked) != 0 ||
         opened.st_dev != checked.st_dev || opened.st_ino != checked.st_ino)) {
        closedir(dir);
        kind_dir_replaced(p, ops);
        return;
    }
    struct listed *names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (e->d_name[0] == '.')
            continue;
        if (arena_grow(&p->arena, (void **)&names, &cap, n + 1,
                       sizeof(*names)) < 0 ||
            !(names[n].name = arena_strdup(&p->arena, e->d_name))) {
            closedir(dir);
            return;
        }
        names[n++].regular = e->d_type == DT_REG;
    }
    /* Byte order, never the file system's or the locale's. */
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_listed);
    size_t kept = 0;
    p->defs[k] = arena_alloc(&p->arena, (n + 1) * sizeof(struct def));
    for (size_t i = 0; i < n && p->defs[k]; i++) {
        char *path = arena_path(&p->arena, ops->dir, names[i].name);
        if (!path)
            break;
        if (!accepts(ops, names[i].name)) {
            /* tests/ is a common name: whatever else lives there (a
             * project's own test scripts) is not ours to judge. */
            if (k == KIND_TEST)
                continue;
            struct source *where = source_from_bytes(&p->arena, path, "", 0);
            struct stat st; /* in the directory listed */
            bool isdir = fstatat(dirfd(dir), names[i].name, &st, 0) == 0 &&
                         S_ISDIR(st.st_mode);
            diag_add(&p->diags, SEV_WARNING, "stray-file", where, 0, 0,
                     isdir ? "definitions are not read from subdirectories"
                           : arena_printf(&p->arena, "%s files end in %s%s",
                                          ops->label, ops->suffix,
                                          k == KIND_AGENT ? " or .md" : ""),
                     "ignored: not %s %s definition file",
                     strchr("aeiou", ops->label[0]) ? "an" : "a", ops->label);
            continue;
        }
        if (kept == LIMIT_DEFINITIONS_PER_KIND) {
            diag_add(&p->diags, SEV_ERROR, "too-many-definitions",
                     source_from_bytes(&p->arena, path, "", 0), 0, 0,
                     "split the project",
                     "too many %s: more than %u (this file and %zu more are "
                     "not read)",
                     ops->plural, LIMIT_DEFINITIONS_PER_KIND, n - i - 1);
            break;
        }
        struct def *d = &p->defs[k][kept++];
        d->kind = k;
        d->path = path;
        d->listed_regular = names[i].regular;
    }
    /* Its files are looked up from the directory listed (project_file_at),
     * kept open until project_free. */
    if (p->kind_dir[k])
        closedir(p->kind_dir[k]);
    p->kind_dir[k] = dir;
    p->ndefs[k] = kept;
}

const char *project_store_path(const struct project *p, const char *dir,
                               const char *given, char *buf, size_t size)
{
    if (given) {
        snprintf(buf, size, "%s", given);
        return buf;
    }
    const char *cfg_store =
        p && p->config ? node_get_str(p->config->root, "store") : NULL;
    if (!cfg_store)
        return dir;
    if (cfg_store[0] == '/')
        return cfg_store;
    snprintf(buf, size, "%s/%s", dir, cfg_store);
    return buf;
}

int project_open(struct project *p, const char *dir)
{
    project_open_shared(p, dir, NULL); /* first: project_free needs it */
    if (sodium_init() < 0 || !p->dir)
        return -1; /* !p->dir: out of memory, the arena says so */
    return schema_set_load(&p->schemas, &p->arena, &p->diags);
}

void project_open_shared(struct project *p, const char *dir,
                         const struct schema_set *schemas)
{
    memset(p, 0, sizeof(*p));
    arena_init(&p->arena);
    diag_list_init(&p->diags, &p->arena);
    p->dir = arena_strdup(&p->arena, dir);
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd == 0) /* stdin was closed: not a descriptor to keep */
        close(fd);
    p->dir_fd = fd > 0 ? fd : 0;
    if (schemas) {
        p->schemas = *schemas;
        p->schemas_shared = true;
    }
}

bool project_out_of_memory(const struct project *p)
{
    bool failed = p->arena.failed || json_mem_failed();
    for (size_t t = 0; t < p->nworkers && p->worker_arenas; t++)
        failed = failed || p->worker_arenas[t].a.failed;
    return failed;
}

int project_load_config(struct project *p, const char *dir)
{
    if (project_open(p, dir) < 0)
        return -1;
    char *cfg = arena_printf(&p->arena, "%s/struere.yaml", dir);
    struct stat st;
    if (!cfg)
        return -1;
    /* lstat: a struere.yaml that is a broken or outside link is
     * reported as such by load_def, not as a missing project. */
    if (lstat(cfg, &st) != 0) {
        diag_add(&p->diags, SEV_ERROR, "no-project", NULL, 0, 0,
                 "run 'struere init' to create a project, or use -C DIR",
                 "no struere.yaml in %s", dir);
        return 0;
    }
    char *real = realpath(dir, NULL);
    if (real) {
        p->real_dir = arena_strdup(&p->arena, real);
        free(real);
        if (!p->real_dir)
            return -1;
    }
    p->config = arena_alloc(&p->arena, sizeof(*p->config));
    if (!p->config)
        return -1;
    p->config->kind = KIND_PROJECT;
    p->config->path = "struere.yaml";
    load_def(p, &p->arena, p->config);
    diag_append(&p->diags, &p->config->diags);
    return 0;
}

int project_load_defs(struct project *p, unsigned threads,
                      const struct defcache *cache)
{
    if (!p->config)
        return 0;
    /* Arenas for as many workers as can run: those that do not use
     * theirs leave it empty. */
    unsigned most = threads ? threads : pool_cores();
    if (most > POOL_MAX_THREADS)
        most = POOL_MAX_THREADS;
    p->worker_arenas = aligned_alloc(_Alignof(struct worker_arena),
                                     most * sizeof(*p->worker_arenas));
    if (!p->worker_arenas) {
        p->arena.failed = 1;
        return -1;
    }
    for (unsigned t = 0; t < most; t++)
        arena_init(&p->worker_arenas[t].a);
    progress_phase(p->progress, PROGRESS_READ, 0);
    struct load_job job = {.p = p, .cache = cache};
    /* The later phases use as many workers (and their arenas). */
    p->nworkers = pool_run_fed(threads, most, discover_all, load_one, &job);
    for (int k = 0; k < KIND_COUNT; k++)
        for (size_t i = 0; i < p->ndefs[k]; i++)
            diag_append(&p->diags, &p->defs[k][i].diags);
    return 0;
}

int project_load(struct project *p, const char *dir, unsigned threads)
{
    if (project_load_config(p, dir) < 0)
        return -1;
    p->hash_on_read = true;
    return project_load_defs(p, threads, NULL);
}

void project_free(struct project *p)
{
    if (!p->schemas_shared)
        schema_set_free(&p->schemas);
    for (size_t t = 0; t < p->nworkers; t++)
        arena_free(&p->worker_arenas[t].a);
    free(p->worker_arenas);
    arena_free(&p->arena);
    defcache_free(p->cache);
    if (p->dir_fd > 0)
        close(p->dir_fd);
    p->dir_fd = 0;
    for (int k = 0; k < KIND_COUNT; k++)
        if (p->kind_dir[k])
            closedir(p->kind_dir[k]);
    memset(p->kind_dir, 0, sizeof(p->kind_dir));
}
