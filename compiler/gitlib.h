/*
 * gitlib.h - libgit2, opened by the first call into it. It lives in
 * libstruere (runtime/src/gitlib.c), whose keystore reads stores too; the
 * compiler's store (store.c) calls libgit2 through it.
 */
#include "../runtime/src/gitlib.h"
