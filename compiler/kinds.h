/*
 * kinds.h - the table of definition kinds. Each kind has one module
 * (kind_<name>.c) that knows its file naming, its identity and its checks:
 * check_file runs on one file's environment view (in a worker thread, no
 * access to other files); check_refs runs afterwards, serially, with every
 * definition of the environment available through struct check_ctx.
 */
#ifndef STRUERE_KINDS_H
#define STRUERE_KINDS_H

#include <stdbool.h>

#include "project.h"

struct node;
struct index;

/* What a check sees: one environment of the whole project. */
struct check_ctx {
    struct project *project;
    enum env env;
    struct diag_list *diags;
    struct arena *arena;
    struct index *index[KIND_COUNT];  /* slug -> def, for this environment */
    struct index *broken[KIND_COUNT]; /* file stems of unreadable defs */
    const struct node *builtin_tools; /* schemas/builtin-tools.yaml list */
    struct index *fixture_refs;       /* eval: ref -> fixture entity node */
    struct index *record_schemas;     /* data slug -> compiled field schema */
    /* Where the reads of the definition being checked are noted (dev's
     * cache of the results, xcheck.h), or NULL; the digest of every
     * fixture file when known (fixtures_known). */
    struct xcheck_rec *rec;
    bool fixtures_known;
    unsigned char fixtures_digest[16];
};

struct kind_ops {
    const char *name;     /* "agent": for messages and `struere add` */
    const char *label;    /* "data type": one definition, for messages */
    const char *plural;   /* "data types" */
    const char *dir;      /* directory under the project */
    const char *suffix;   /* file name ending; agents also take ".md" */
    const char *slug_key; /* "slug"; "name" for tools */
    unsigned envs;        /* bit per env that receives this kind */
    void (*check_file)(struct check_ctx *c, struct def *d,
                       const struct node *view);
    void (*check_refs)(struct check_ctx *c, struct def *d,
                       const struct node *view);
    /* Environments whose checks see this kind although their bundles do
     * not hold it (policy tests: eval, where fixtures exist). */
    unsigned checked_only;
};

/* The environments whose cross-definition checks cover kind `ops`. */
static inline unsigned kind_checked_envs(const struct kind_ops *ops)
{
    return ops->envs | ops->checked_only;
}

extern const struct kind_ops kind_table[KIND_COUNT];

/* The definition of kind k with slug in the context's environment (the
 * read noted: xcheck.h). */
struct def *check_lookup(const struct check_ctx *c, enum kind k,
                         const char *slug);
/* The fixture record whose ref is `ref` in the eval environment, or NULL
 * (the read noted). */
const struct node *check_fixture_ref(const struct check_ctx *c,
                                     const char *ref);
/* Reports an unknown reference at `at` with a did-you-mean over the slugs
 * of kind k (code e.g. "unknown-data-type"). extra lists other accepted
 * names ("users", "*"), NULL-terminated, or NULL. */
void check_unknown_ref(struct check_ctx *c, const struct node *at, enum kind k,
                       const char *code, const char *what,
                       const char *const *extra);
/* Whether name is a built-in tool, or a custom tool of the project. */
bool check_tool_exists(const struct check_ctx *c, const char *name);
/* Reports a list of role slugs longer than one actor may hold at runtime
 * (limits.h: LIMIT_ACTOR_ROLES), at its first entry past the limit; `who`
 * ("agent", "test actor") names the holder in the message. */
void check_role_count(struct check_ctx *c, const struct node *roles,
                      const char *who);
/* Whether a definition of kind k named slug exists but could not be
 * read or parsed (its own errors are reported; references to it are
 * not). */
bool check_is_broken(const struct check_ctx *c, enum kind k, const char *slug);
/* Reports an unknown tool name with did-you-mean over all tools. */
void check_unknown_tool(struct check_ctx *c, const struct node *at,
                        const char *context);

/* Data types: whether path (e.g. "data.address.street", "status") names a
 * field of records of data type d; *why receives a reason when not. */
bool data_record_path(const struct node *data_view, const char *path,
                      const char **why);
/* The schema node of field `path` inside the data type's `schema`
 * ("address.street"), or NULL. */
const struct node *data_field(const struct node *data_view, const char *path);

/* Kind modules. */
void agent_check_file(struct check_ctx *c, struct def *d,
                      const struct node *view);
void agent_check_refs(struct check_ctx *c, struct def *d,
                      const struct node *view);
void data_check_file(struct check_ctx *c, struct def *d,
                     const struct node *view);
void data_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view);
void role_check_file(struct check_ctx *c, struct def *d,
                     const struct node *view);
void role_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view);
void automation_check_file(struct check_ctx *c, struct def *d,
                           const struct node *view);
void automation_check_refs(struct check_ctx *c, struct def *d,
                           const struct node *view);
void tool_check_file(struct check_ctx *c, struct def *d,
                     const struct node *view);
void eval_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view);
void fixture_check_file(struct check_ctx *c, struct def *d,
                        const struct node *view);
void fixture_check_refs(struct check_ctx *c, struct def *d,
                        const struct node *view);
void test_check_refs(struct check_ctx *c, struct def *d,
                     const struct node *view);
/* Eval: indexes every fixture record by ref, reporting duplicates. */
void fixture_index_refs(struct check_ctx *c);
/* Eval: compiles every data type's record schema before the parallel
 * reference checks read them. */
void fixture_prepare_schemas(struct check_ctx *c);
/* Project-wide: two data types bound to one role. */
void data_check_bindings(struct check_ctx *c);
/* Project-wide: automation cascade cycles (after all refs are checked). */
void automation_check_cascades(struct check_ctx *c);

#endif
