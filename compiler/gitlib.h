/*
 * gitlib.h - libgit2, opened by the first call into it (rt_dynlib.h). The
 * compiler's store (store.c) is its one user: the runtime reads stores
 * with its own reader (runtime/src/gitread.h), so neither libstruere nor
 * `struere serve` maps libgit2.
 *
 * Include this instead of <git2.h>: each libgit2 function used is named
 * in GITLIB_FUNCTIONS, and a macro of the same name calls it through the
 * table, whose entries have the library's own declared types (a call
 * with the wrong arguments does not compile). A function not listed is
 * not linked: the build fails at the link, naming it.
 *
 * The first call opens the library. Every entry point (opening a store,
 * a keystore, a keyring) calls gitlib_load first and reports its reason
 * when the library cannot be opened: a call into the table is only made
 * once that has succeeded (the library never prints or exits).
 */
#ifndef STRUERE_GITLIB_H
#define STRUERE_GITLIB_H

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <stdbool.h>
#include <stddef.h>

/* clang-format off */
#define GITLIB_FUNCTIONS(X) \
    X(git_blob_create_from_buffer) \
    X(git_blob_free) \
    X(git_blob_lookup) \
    X(git_blob_rawcontent) \
    X(git_blob_rawsize) \
    X(git_buf_dispose) \
    X(git_commit_author) \
    X(git_commit_create) \
    X(git_commit_free) \
    X(git_commit_id) \
    X(git_commit_lookup) \
    X(git_commit_message) \
    X(git_commit_parent_id) \
    X(git_commit_parentcount) \
    X(git_commit_time) \
    X(git_commit_time_offset) \
    X(git_commit_tree) \
    X(git_commit_tree_id) \
    X(git_error_last) \
    X(git_error_set_oom) \
    X(git_error_set_str) \
    X(git_fetch_options_init) \
    X(git_graph_descendant_of) \
    X(git_index_add) \
    X(git_index_free) \
    X(git_index_new) \
    X(git_index_write_tree_to) \
    X(git_libgit2_init) \
    X(git_libgit2_opts) \
    X(git_libgit2_shutdown) \
    X(git_object_free) \
    X(git_object_id) \
    X(git_object_peel) \
    X(git_odb_add_backend) \
    X(git_odb_backend_data_free) \
    X(git_odb_backend_loose) \
    X(git_odb_exists) \
    X(git_odb_free) \
    X(git_odb_get_backend) \
    X(git_odb_hash) \
    X(git_odb_init_backend) \
    X(git_odb_num_backends) \
    X(git_odb_object_data) \
    X(git_odb_object_free) \
    X(git_odb_object_size) \
    X(git_odb_object_type) \
    X(git_odb_open_rstream) \
    X(git_odb_read) \
    X(git_odb_read_header) \
    X(git_odb_refresh) \
    X(git_odb_stream_free) \
    X(git_odb_write) \
    X(git_oid_cpy) \
    X(git_oid_equal) \
    X(git_oid_fromraw) \
    X(git_oid_fromstr) \
    X(git_oid_tostr) \
    X(git_push_options_init) \
    X(git_reference_create_matching) \
    X(git_reference_delete) \
    X(git_reference_free) \
    X(git_reference_lookup) \
    X(git_reference_name_to_id) \
    X(git_reference_target) \
    X(git_reflog_append) \
    X(git_reflog_entry_byindex) \
    X(git_reflog_entry_committer) \
    X(git_reflog_entry_id_new) \
    X(git_reflog_entry_id_old) \
    X(git_reflog_entry_message) \
    X(git_reflog_entrycount) \
    X(git_reflog_free) \
    X(git_reflog_read) \
    X(git_reflog_write) \
    X(git_remote_create_anonymous) \
    X(git_remote_fetch) \
    X(git_remote_free) \
    X(git_remote_lookup) \
    X(git_remote_push) \
    X(git_repository_discover) \
    X(git_repository_free) \
    X(git_repository_init) \
    X(git_repository_is_bare) \
    X(git_repository_item_path) \
    X(git_repository_odb) \
    X(git_repository_open) \
    X(git_repository_open_ext) \
    X(git_repository_path) \
    X(git_repository_set_ident) \
    X(git_repository_workdir) \
    X(git_revparse_single) \
    X(git_revwalk_free) \
    X(git_revwalk_new) \
    X(git_revwalk_next) \
    X(git_revwalk_push_ref) \
    X(git_revwalk_sorting) \
    X(git_signature_default) \
    X(git_signature_dup) \
    X(git_signature_free) \
    X(git_signature_new) \
    X(git_signature_now) \
    X(git_tree_create_updated) \
    X(git_tree_entry_byindex) \
    X(git_tree_entry_bypath) \
    X(git_tree_entry_cmp) \
    X(git_tree_entry_free) \
    X(git_tree_entry_id) \
    X(git_tree_entry_name) \
    X(git_tree_entry_type) \
    X(git_tree_entrycount) \
    X(git_tree_free) \
    X(git_tree_id) \
    X(git_tree_lookup) \
    X(git_tree_walk)
/* clang-format on */

struct gitlib {
#define GITLIB_ENTRY(name) __typeof__(name) *name;
    GITLIB_FUNCTIONS(GITLIB_ENTRY)
#undef GITLIB_ENTRY
};

/* Opens libgit2 (once per process; later calls give the first answer).
 * false, with the reason in err, when it cannot be opened. */
bool gitlib_load(char *err, size_t errsize);

/* The table, once gitlib_load has succeeded (its entries are NULL when
 * the library could not be opened). */
const struct gitlib *gitlib(void);

/* clang-format off */
#define git_blob_create_from_buffer(...) (gitlib()->git_blob_create_from_buffer(__VA_ARGS__))
#define git_blob_free(...) (gitlib()->git_blob_free(__VA_ARGS__))
#define git_blob_lookup(...) (gitlib()->git_blob_lookup(__VA_ARGS__))
#define git_blob_rawcontent(...) (gitlib()->git_blob_rawcontent(__VA_ARGS__))
#define git_blob_rawsize(...) (gitlib()->git_blob_rawsize(__VA_ARGS__))
#define git_buf_dispose(...) (gitlib()->git_buf_dispose(__VA_ARGS__))
#define git_commit_author(...) (gitlib()->git_commit_author(__VA_ARGS__))
#define git_commit_create(...) (gitlib()->git_commit_create(__VA_ARGS__))
#define git_commit_free(...) (gitlib()->git_commit_free(__VA_ARGS__))
#define git_commit_id(...) (gitlib()->git_commit_id(__VA_ARGS__))
#define git_commit_lookup(...) (gitlib()->git_commit_lookup(__VA_ARGS__))
#define git_commit_message(...) (gitlib()->git_commit_message(__VA_ARGS__))
#define git_commit_parent_id(...) (gitlib()->git_commit_parent_id(__VA_ARGS__))
#define git_commit_parentcount(...) (gitlib()->git_commit_parentcount(__VA_ARGS__))
#define git_commit_time(...) (gitlib()->git_commit_time(__VA_ARGS__))
#define git_commit_time_offset(...) (gitlib()->git_commit_time_offset(__VA_ARGS__))
#define git_commit_tree(...) (gitlib()->git_commit_tree(__VA_ARGS__))
#define git_commit_tree_id(...) (gitlib()->git_commit_tree_id(__VA_ARGS__))
#define git_error_last(...) (gitlib()->git_error_last(__VA_ARGS__))
#define git_error_set_oom(...) (gitlib()->git_error_set_oom(__VA_ARGS__))
#define git_error_set_str(...) (gitlib()->git_error_set_str(__VA_ARGS__))
#define git_fetch_options_init(...) (gitlib()->git_fetch_options_init(__VA_ARGS__))
#define git_graph_descendant_of(...) (gitlib()->git_graph_descendant_of(__VA_ARGS__))
#define git_index_add(...) (gitlib()->git_index_add(__VA_ARGS__))
#define git_index_free(...) (gitlib()->git_index_free(__VA_ARGS__))
#define git_index_new(...) (gitlib()->git_index_new(__VA_ARGS__))
#define git_index_write_tree_to(...) (gitlib()->git_index_write_tree_to(__VA_ARGS__))
#define git_libgit2_init(...) (gitlib()->git_libgit2_init(__VA_ARGS__))
#define git_libgit2_opts(...) (gitlib()->git_libgit2_opts(__VA_ARGS__))
#define git_libgit2_shutdown(...) (gitlib()->git_libgit2_shutdown(__VA_ARGS__))
#define git_object_free(...) (gitlib()->git_object_free(__VA_ARGS__))
#define git_object_id(...) (gitlib()->git_object_id(__VA_ARGS__))
#define git_object_peel(...) (gitlib()->git_object_peel(__VA_ARGS__))
#define git_odb_add_backend(...) (gitlib()->git_odb_add_backend(__VA_ARGS__))
#define git_odb_backend_data_free(...) (gitlib()->git_odb_backend_data_free(__VA_ARGS__))
#define git_odb_backend_loose(...) (gitlib()->git_odb_backend_loose(__VA_ARGS__))
#define git_odb_exists(...) (gitlib()->git_odb_exists(__VA_ARGS__))
#define git_odb_free(...) (gitlib()->git_odb_free(__VA_ARGS__))
#define git_odb_get_backend(...) (gitlib()->git_odb_get_backend(__VA_ARGS__))
#define git_odb_hash(...) (gitlib()->git_odb_hash(__VA_ARGS__))
#define git_odb_init_backend(...) (gitlib()->git_odb_init_backend(__VA_ARGS__))
#define git_odb_num_backends(...) (gitlib()->git_odb_num_backends(__VA_ARGS__))
#define git_odb_object_data(...) (gitlib()->git_odb_object_data(__VA_ARGS__))
#define git_odb_object_free(...) (gitlib()->git_odb_object_free(__VA_ARGS__))
#define git_odb_object_size(...) (gitlib()->git_odb_object_size(__VA_ARGS__))
#define git_odb_object_type(...) (gitlib()->git_odb_object_type(__VA_ARGS__))
#define git_odb_open_rstream(...) (gitlib()->git_odb_open_rstream(__VA_ARGS__))
#define git_odb_read(...) (gitlib()->git_odb_read(__VA_ARGS__))
#define git_odb_read_header(...) (gitlib()->git_odb_read_header(__VA_ARGS__))
#define git_odb_refresh(...) (gitlib()->git_odb_refresh(__VA_ARGS__))
#define git_odb_stream_free(...) (gitlib()->git_odb_stream_free(__VA_ARGS__))
#define git_odb_write(...) (gitlib()->git_odb_write(__VA_ARGS__))
#define git_oid_cpy(...) (gitlib()->git_oid_cpy(__VA_ARGS__))
#define git_oid_equal(...) (gitlib()->git_oid_equal(__VA_ARGS__))
#define git_oid_fromraw(...) (gitlib()->git_oid_fromraw(__VA_ARGS__))
#define git_oid_fromstr(...) (gitlib()->git_oid_fromstr(__VA_ARGS__))
#define git_oid_tostr(...) (gitlib()->git_oid_tostr(__VA_ARGS__))
#define git_push_options_init(...) (gitlib()->git_push_options_init(__VA_ARGS__))
#define git_reference_create_matching(...) (gitlib()->git_reference_create_matching(__VA_ARGS__))
#define git_reference_delete(...) (gitlib()->git_reference_delete(__VA_ARGS__))
#define git_reference_free(...) (gitlib()->git_reference_free(__VA_ARGS__))
#define git_reference_lookup(...) (gitlib()->git_reference_lookup(__VA_ARGS__))
#define git_reference_name_to_id(...) (gitlib()->git_reference_name_to_id(__VA_ARGS__))
#define git_reference_target(...) (gitlib()->git_reference_target(__VA_ARGS__))
#define git_reflog_append(...) (gitlib()->git_reflog_append(__VA_ARGS__))
#define git_reflog_entry_byindex(...) (gitlib()->git_reflog_entry_byindex(__VA_ARGS__))
#define git_reflog_entry_committer(...) (gitlib()->git_reflog_entry_committer(__VA_ARGS__))
#define git_reflog_entry_id_new(...) (gitlib()->git_reflog_entry_id_new(__VA_ARGS__))
#define git_reflog_entry_id_old(...) (gitlib()->git_reflog_entry_id_old(__VA_ARGS__))
#define git_reflog_entry_message(...) (gitlib()->git_reflog_entry_message(__VA_ARGS__))
#define git_reflog_entrycount(...) (gitlib()->git_reflog_entrycount(__VA_ARGS__))
#define git_reflog_free(...) (gitlib()->git_reflog_free(__VA_ARGS__))
#define git_reflog_read(...) (gitlib()->git_reflog_read(__VA_ARGS__))
#define git_reflog_write(...) (gitlib()->git_reflog_write(__VA_ARGS__))
#define git_remote_create_anonymous(...) (gitlib()->git_remote_create_anonymous(__VA_ARGS__))
#define git_remote_fetch(...) (gitlib()->git_remote_fetch(__VA_ARGS__))
#define git_remote_free(...) (gitlib()->git_remote_free(__VA_ARGS__))
#define git_remote_lookup(...) (gitlib()->git_remote_lookup(__VA_ARGS__))
#define git_remote_push(...) (gitlib()->git_remote_push(__VA_ARGS__))
#define git_repository_discover(...) (gitlib()->git_repository_discover(__VA_ARGS__))
#define git_repository_free(...) (gitlib()->git_repository_free(__VA_ARGS__))
#define git_repository_init(...) (gitlib()->git_repository_init(__VA_ARGS__))
#define git_repository_is_bare(...) (gitlib()->git_repository_is_bare(__VA_ARGS__))
#define git_repository_item_path(...) (gitlib()->git_repository_item_path(__VA_ARGS__))
#define git_repository_odb(...) (gitlib()->git_repository_odb(__VA_ARGS__))
#define git_repository_open(...) (gitlib()->git_repository_open(__VA_ARGS__))
#define git_repository_open_ext(...) (gitlib()->git_repository_open_ext(__VA_ARGS__))
#define git_repository_path(...) (gitlib()->git_repository_path(__VA_ARGS__))
#define git_repository_set_ident(...) (gitlib()->git_repository_set_ident(__VA_ARGS__))
#define git_repository_workdir(...) (gitlib()->git_repository_workdir(__VA_ARGS__))
#define git_revparse_single(...) (gitlib()->git_revparse_single(__VA_ARGS__))
#define git_revwalk_free(...) (gitlib()->git_revwalk_free(__VA_ARGS__))
#define git_revwalk_new(...) (gitlib()->git_revwalk_new(__VA_ARGS__))
#define git_revwalk_next(...) (gitlib()->git_revwalk_next(__VA_ARGS__))
#define git_revwalk_push_ref(...) (gitlib()->git_revwalk_push_ref(__VA_ARGS__))
#define git_revwalk_sorting(...) (gitlib()->git_revwalk_sorting(__VA_ARGS__))
#define git_signature_default(...) (gitlib()->git_signature_default(__VA_ARGS__))
#define git_signature_dup(...) (gitlib()->git_signature_dup(__VA_ARGS__))
#define git_signature_free(...) (gitlib()->git_signature_free(__VA_ARGS__))
#define git_signature_new(...) (gitlib()->git_signature_new(__VA_ARGS__))
#define git_signature_now(...) (gitlib()->git_signature_now(__VA_ARGS__))
#define git_tree_create_updated(...) (gitlib()->git_tree_create_updated(__VA_ARGS__))
#define git_tree_entry_byindex(...) (gitlib()->git_tree_entry_byindex(__VA_ARGS__))
#define git_tree_entry_bypath(...) (gitlib()->git_tree_entry_bypath(__VA_ARGS__))
#define git_tree_entry_cmp(...) (gitlib()->git_tree_entry_cmp(__VA_ARGS__))
#define git_tree_entry_free(...) (gitlib()->git_tree_entry_free(__VA_ARGS__))
#define git_tree_entry_id(...) (gitlib()->git_tree_entry_id(__VA_ARGS__))
#define git_tree_entry_name(...) (gitlib()->git_tree_entry_name(__VA_ARGS__))
#define git_tree_entry_type(...) (gitlib()->git_tree_entry_type(__VA_ARGS__))
#define git_tree_entrycount(...) (gitlib()->git_tree_entrycount(__VA_ARGS__))
#define git_tree_free(...) (gitlib()->git_tree_free(__VA_ARGS__))
#define git_tree_id(...) (gitlib()->git_tree_id(__VA_ARGS__))
#define git_tree_lookup(...) (gitlib()->git_tree_lookup(__VA_ARGS__))
#define git_tree_walk(...) (gitlib()->git_tree_walk(__VA_ARGS__))
/* clang-format on */

#endif
