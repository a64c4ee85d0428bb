/*
 * runtime.c - the runtime handle: a verified bundle with its precomputed
 * model. Opening from a file is here; opening by key and reloading are in
 * keystore.c, above this core: it hands its bundles to rt_runtime_new and
 * rt_runtime_swap and attaches its part with the function that frees it.
 */
#include <stdlib.h>
#include <string.h>

#include "rt.h"

int rt_runtime_new(struere_runtime **out, struere_bundle *b, struere_error *err)
{
    struere_bundle_info info;
    rt_model *m;
    *out = NULL;
    int rc = rt_model_build(b, &m, err);
    if (rc < 0)
        return rc;
    struere_runtime *rt = calloc(1, sizeof(*rt));
    if (!rt) {
        rt_model_free(m);
        return rt_fail(err, STRUERE_ENOMEM, "out of memory opening a bundle");
    }
    struere_bundle_get_info(&info, b, NULL);
    rt->bundle = b;
    rt->model = m;
    rt->env = info.environment;
    rt->generation = 1;
    *out = rt;
    rt_clear(err);
    return 0;
}

int rt_runtime_swap(struere_runtime *rt, struere_bundle *b, struere_error *err)
{
    struere_bundle_info info;
    rt_model *m;
    int rc = rt_model_build(b, &m, err);
    if (rc < 0)
        return rc;
    struere_bundle_get_info(&info, b, NULL);
    if (info.environment != rt->env) {
        rt_model_free(m);
        return rt_fail(err, STRUERE_EENV,
                       "the new bundle is for %s, the runtime serves %s",
                       struere_env_name(info.environment),
                       struere_env_name(rt->env));
    }
    rt_model_free(rt->model);
    struere_bundle_free(rt->bundle);
    rt->model = m;
    rt->bundle = b;
    rt->generation++;
    return 0;
}

/* A runtime on the bundle an open just gave (rc its result): the bundle
 * is freed when the runtime cannot be made. */
static int runtime_on(struere_runtime **out, int rc, struere_bundle *b,
                      struere_error *err)
{
    if (rc < 0)
        return rc;
    rc = rt_runtime_new(out, b, err);
    if (rc < 0)
        struere_bundle_free(b);
    return rc;
}

int struere_runtime_open_file(struere_runtime **out, const char *path,
                              int expected_env, struere_error *err)
{
    struere_bundle *b = NULL;
    rt_clear(err);
    if (!out || !path)
        return rt_fail(err, STRUERE_EINVAL,
                       "no path or no place for the runtime");
    *out = NULL;
    int rc = struere_bundle_open_file(&b, path, expected_env, err);
    return runtime_on(out, rc, b, err);
}

int struere_runtime_open_memory(struere_runtime **out, const void *bytes,
                                size_t len, int expected_env,
                                struere_error *err)
{
    struere_bundle *b = NULL;
    rt_clear(err);
    if (!out)
        return rt_fail(err, STRUERE_EINVAL, "no place for the runtime");
    *out = NULL;
    int rc = struere_bundle_open_memory(&b, bytes, len, expected_env, err);
    return runtime_on(out, rc, b, err);
}

int struere_runtime_open_bundle(struere_runtime **out, struere_bundle *b,
                                struere_error *err)
{
    rt_clear(err);
    if (out)
        *out = NULL;
    if (!out || !b) {
        struere_bundle_free(b);
        return rt_fail(err, STRUERE_EINVAL,
                       "no bundle or no place for the runtime");
    }
    return runtime_on(out, 0, b, err);
}

void struere_runtime_free(struere_runtime *rt)
{
    if (!rt)
        return;
    rt_model_free(rt->model);
    struere_bundle_free(rt->bundle);
    if (rt->ks)
        rt->ks_free(rt->ks);
    free(rt);
}

int struere_runtime_env(const struere_runtime *rt)
{
    return rt ? rt->env : 0;
}

const struere_bundle *struere_runtime_bundle(const struere_runtime *rt)
{
    return rt ? rt->bundle : NULL;
}

const char *struere_runtime_commit(const struere_runtime *rt)
{
    return rt ? rt->commit : NULL;
}
