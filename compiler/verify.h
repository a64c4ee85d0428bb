/*
 * verify.h - a commit's bundle verified whole before a command uses or
 * promotes it (DESIGN §9): every rule of runtime/BUNDLE.md, the expected
 * environment, the SHA-256 against manifest.json of the same commit, and
 * every definition body well-formed JSON. Promotions stay constant-time
 * through records of blobs this store already verified
 * (.git/struere/verified/<blob id>): a blob id names its bytes.
 */
#ifndef STRUERE_VERIFY_H
#define STRUERE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

struct store;
struct struere_bundle;

/* What a verification found out about a commit's bundle. */
struct verified {
    char blob[41];                     /* the bundle's git blob id */
    unsigned char sha256[32];          /* the bundle's SHA-256 (= manifest's) */
    unsigned char manifest_sha256[32]; /* SHA-256 of manifest.json */
    bool from_record;                  /* taken from a record, not re-read */
};

enum verify_status {
    VERIFY_OK = 0,
    VERIFY_INVALID = -1, /* the bundle or manifest does not verify */
    VERIFY_IO = -2,      /* the store cannot be read */
};

/*
 * Verifies the bundle of environment env (ENV_*) in commit id whole and,
 * when it verifies, opens it (*out, when out is not NULL; the caller frees
 * it with struere_bundle_free) and records blob -> digest for later
 * promotions. err receives the reason (naming the commit and path).
 */
int verify_commit_bundle(struct store *s, const char *id, int env,
                         struct struere_bundle **out, struct verified *v,
                         char *err, size_t errsize);

/*
 * For promotions: as verify_commit_bundle without opening, but a bundle
 * whose blob this store already verified with the digest the commit's
 * manifest gives is not read again (v->from_record). The manifest and the
 * tree are always read.
 */
int verify_for_promotion(struct store *s, const char *id, int env,
                         struct verified *v, char *err, size_t errsize);

/* The bundle's blob id in commit id and the digest manifest.json gives
 * for it (v->blob, v->sha256, v->manifest_sha256), nothing else read:
 * VERIFY_OK, or VERIFY_INVALID / VERIFY_IO with the reason in err. */
int verify_locate(struct store *s, const char *id, int env, struct verified *v,
                  char *err, size_t errsize);

/* Whether this store recorded blob as a verified bundle of env with
 * SHA-256 sha256 (verify_record; the record authenticated by the store's
 * key): bytes with that SHA-256 are then the bytes verified whole. */
bool verify_recorded(struct store *s, const char *blob, int env,
                     const unsigned char sha256[32]);

/* Every body of b is one JSON object, and every role compiles as the
 * runtime compiles it when an actor first holds it: VERIFY_OK, or
 * VERIFY_INVALID with the kind and slug of the first that fails
 * (VERIFY_IO when memory ran out). */
int verify_bodies(const struct struere_bundle *b, char *err, size_t errsize);

/* Records that blob (40 hex) holds a verified bundle of environment env
 * with SHA-256 sha256, for verify_for_promotion. For `dev`, after its own
 * verification. Best effort: a record that cannot be written only costs a
 * re-read later. What a record vouches for, every body well-formed JSON
 * included, is read nowhere again (promotions, status, the bodies dev
 * reuses): dev's own records rest on its bodies being JSON by
 * construction (jansson's output, or bodies reused from a bundle that
 * was recorded or whose bodies were checked as they were reused). */
void verify_record(struct store *s, const char *blob, int env,
                   const unsigned char sha256[32]);

/* Records (<tree>.<sources>.<env>.review) that tree (a commit's review/<env>/
 * tree, 40 hex) is what the bundle blob `blob` of env renders to, and
 * that both were compiled from the sources the commit's `sources` list
 * (blob id `sources`) names, for a project whose actor.organizationId
 * comes from `organization` (its organization id and project name): for
 * `dev`, which compiled them. dev takes a definition as unchanged from
 * that list; a commit made by hand could otherwise pair a list of the
 * sources now with the bodies of older ones, which a run reusing them
 * would keep for ever (a clean run compiles them again). A
 * promotion then reads the difference from the review trees (what
 * changed, constant time) only when this store recorded both sides'
 * trees as their bundles', and dev reuses definitions only from a
 * previous commit so recorded; anything else in a commit (a review tree
 * or bundle written by hand) is not believed: the difference is computed
 * from the bundles, and everything is compiled again. */
void verify_record_review(struct store *s, const char *tree, int env,
                          const char *blob, const char *sources,
                          const char *organization);
/* Whether this store recorded tree as the rendering of blob in env, with
 * the sources list `sources`; then *organization receives the SHA-256 of
 * the bundle's organization id. */
bool verify_review_recorded(struct store *s, const char *tree, int env,
                            const char *blob, const char *sources,
                            unsigned char organization[32]);

#endif
