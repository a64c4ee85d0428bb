/*
 * trust.h - the writing side of runtime/TRUST.md: Ed25519 signing keys
 * (secret key files), the trust policy in refs/struere/trust, promotion
 * statements in refs/struere/promotions, signed key records. Everything
 * is verified with libstruere's reader (struere_trust_load,
 * struere_statement_read), the one the runtime uses. Library code: errors
 * go to err, nothing is printed.
 */
#ifndef STRUERE_TRUST_H
#define STRUERE_TRUST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "struere.h"

#define TRUST_REF "refs/struere/trust"
#define PROMOTIONS_REF "refs/struere/promotions"

struct store;
struct verified;

enum trust_status {
    TRUST_OK = 0,
    TRUST_INVALID = -1,    /* refused: a rule of TRUST.md, a bad key file */
    TRUST_IO = -2,         /* the store or a file cannot be read or written */
    TRUST_MOVED = -3,      /* a ref moved meanwhile (compare-and-swap lost) */
    TRUST_UNVERIFIED = -4, /* a bundle to promote does not verify */
};

/* A secret signing key, loaded. */
struct signer {
    unsigned char sk[64];
    char pub[64]; /* "ed25519:<base64>" */
};

/* Makes a new key pair, writes the secret key to path (created, mode
 * 0600; an existing file is not overwritten) and its public key to pub. */
int signer_create(const char *path, char pub[64], char *err, size_t errsize);
/* Loads the secret key file at path (refused when others may read it). */
int signer_load(const char *path, struct signer *s, char *err, size_t errsize);
/* A signature object {"key", "signature"} over domain + payload. */
json_t *signer_sign(const struct signer *s, const char *domain,
                    const void *payload, size_t n);

extern const char trust_domain_policy[];
extern const char trust_domain_statement[];
extern const char trust_domain_record[];

/* The trust policy of a store, as read. */
struct trust_state {
    json_t *doc;      /* trust.json, or NULL when there is none */
    struere_trust *t; /* the policy in force, verified; NULL: none */
    char commit[41];  /* the ref's commit, "" when absent */
};

/* Reads and verifies the store's policy (none is not an error). */
int trust_read(struct store *s, struct trust_state *st, char *err,
               size_t errsize);
void trust_state_free(struct trust_state *st);

/* A change to the policy: the new payload from the one in force (or an
 * empty one), changed by the caller through keys/require. */
struct trust_change {
    json_t *keys;    /* [{"key","name"}] */
    json_t *require; /* {"development":K,...} */
};
void trust_change_begin(const struct trust_state *st, struct trust_change *c);
void trust_change_free(struct trust_change *c);
/* Appends the change to the chain, signed by signers, verifies the new
 * chain as the runtime will, and commits it (compare-and-swap). On
 * TRUST_INVALID err says why (e.g. too few signatures). */
int trust_change_commit(struct store *s, struct trust_state *st,
                        const struct trust_change *c,
                        const struct signer *signers, size_t nsigners,
                        const char *message, char *err, size_t errsize);

/* The statements of an environment in refs/struere/promotions. */
struct promotions {
    char commit[41];                  /* the ref's commit, "" when absent */
    json_t *latest;                   /* <env>.json, or NULL */
    json_t *pending;                  /* pending/<env>.json, or NULL */
    char *latest_text, *pending_text; /* their bytes */
    size_t latest_len, pending_len;
};
int promotions_read(struct store *s, int env, struct promotions *p, char *err,
                    size_t errsize);
void promotions_free(struct promotions *p);

/* What a promotion did. */
struct promotion_result {
    bool complete;   /* K reached: the branch moved */
    char commit[41]; /* the commit the statement names */
    uint64_t sequence;
    unsigned signatures; /* valid, by distinct trusted keys */
    int required;        /* K */
    char untrusted[256]; /* signers whose key the policy does not trust */
};

/*
 * Writes a statement moving env's branch from `replaces` ("" for none) to
 * `commit` (whose bundle v verified), signed by signers: complete when
 * they reach the policy's K (the statement is written, then the branch
 * moves with compare-and-swap; if it moved meanwhile the statement is
 * withdrawn and TRUST_MOVED returned), else pending (nothing moves).
 */
int promotion_propose(struct store *s, int env, const char *action,
                      const char *commit, const char *replaces,
                      const struct verified *v, const struct signer *signers,
                      size_t nsigners, const char *reflog_message,
                      struct promotion_result *r, char *err, size_t errsize);

/*
 * env's pending statement, read under the policy in force, and its
 * payload (the signed text, malloc'd): what `approve` shows before it
 * signs.
 */
int promotion_pending(struct store *s, int env, struere_statement *st,
                      char **payload, char *err, size_t errsize);

/*
 * Adds signer's signature to env's pending statement, after checking that
 * it is the one the caller showed (its payload `reviewed`; NULL: any),
 * that it is newer than env's latest statement (no replay, nothing
 * superseded), that a production statement names a development commit,
 * that the branch still points where the statement starts from, and that
 * the bundle still verifies with its digests; the signature that reaches
 * K moves the branch as promotion_propose does.
 */
int promotion_approve(struct store *s, int env, const struct signer *signer,
                      const char *reviewed, struct promotion_result *r,
                      char *err, size_t errsize);

/* The names of the keys of t whose bits are set in `bits` (a statement's
 * signed_by), comma-separated, into buf; "" for none. */
void trust_signer_names(const struere_trust *t, uint64_t bits, char *buf,
                        size_t size);

/* One complete statement of an environment, as the history has it. */
struct promotion_entry {
    struere_statement st;
    char signers[300]; /* names of the trusted keys that signed, or "" */
    bool pending;      /* still waiting for signatures */
};

/*
 * The statements of env in the history of refs/struere/promotions
 * (newest first, one per sequence, at most max), counted against the
 * policy in force (t may be NULL). Free *out with free().
 */
int promotion_history(struct store *s, int env, const struere_trust *t,
                      size_t max, struct promotion_entry **out, size_t *n,
                      char *err, size_t errsize);

/* K, the signatures the store's trust policy requires for env (0 when
 * there is no policy); -1 with err when the policy does not verify. */
int trust_required(struct store *s, int env, char *err, size_t errsize);

/* Whether env's branch (at `commit`) would be refused by the runtime for
 * want of a complete statement naming it (*missing): the policy requires
 * K >= 1 and no complete statement of env names `commit`. TRUST_OK, or
 * an error with err when the policy does not verify or env's latest
 * statement cannot be read. */
int promotion_missing(struct store *s, int env, const char *commit,
                      bool *missing, char *err, size_t errsize);

/* Whether text is a public key "ed25519:<base64 of 32 bytes>". */
bool trust_pubkey_ok(const char *text);

/* The payload a key record is signed over (TRUST.md §5), built by the
 * runtime's keys module from the record as the runtime reads it; false
 * when the record does not read. */
bool trust_record_payload(json_t *record, char *buf, size_t size);

#endif
