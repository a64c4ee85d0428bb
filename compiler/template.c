/*
 * template.c - the compiler's view of Struere's templates: each top-level
 * {{ }} as the runtime's own scanner finds and trims it (tmpl_scan.h), a
 * call when it reads name(args) by the same rule, else a variable; and
 * the check that a call's arguments are JSON.
 */
#include "template.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "tmpl_scan.h"

static void classify(struct tmpl_expr *e)
{
    size_t i = rt_tmpl_call_name(e->text, e->len);
    e->is_call = i > 0;
    e->name = e->text;
    e->name_len = i ? i : e->len;
    if (i) {
        e->args = e->text + i + 1;
        e->args_len = e->len - i - 2;
    }
}

int template_scan(const char *s, size_t len, tmpl_visit visit, void *ctx,
                  size_t *err_offset, const char **err)
{
    size_t pos = 0;
    rt_tmpl_expr x;
    int rc;
    while ((rc = rt_tmpl_next(s, len, &pos, LIMIT_TEMPLATE_DEPTH, &x)) ==
           RT_TMPL_FOUND) {
        struct tmpl_expr e = {.offset = x.open, .text = x.text, .len = x.len};
        classify(&e);
        visit(ctx, &e);
    }
    if (rc == RT_TMPL_NONE)
        return 0;
    *err_offset = x.open;
    *err =
        rc == RT_TMPL_TOO_DEEP ? "templates nest too deeply" : "unclosed '{{'";
    return -1;
}

bool template_args_json(const char *args, size_t len, char *buf, size_t size,
                        const char **why)
{
    size_t k = 0;
    bool in_string = false;
    size_t i = 0;
    while (i < len) {
        if (k + 2 >= size) {
            *why = "arguments are too long";
            return false;
        }
        if (in_string && args[i] == '\\' && i + 1 < len) {
            buf[k++] = args[i++];
            buf[k++] = args[i++];
            continue;
        }
        if (args[i] == '"')
            in_string = !in_string;
        if (i + 1 < len && args[i] == '{' && args[i + 1] == '{') {
            int depth = 0;
            while (i + 1 < len) {
                if (args[i] == '{' && args[i + 1] == '{') {
                    depth++;
                    i += 2;
                } else if (args[i] == '}' && args[i + 1] == '}') {
                    i += 2;
                    if (--depth == 0)
                        break;
                } else {
                    i++;
                }
            }
            buf[k++] = in_string ? 'x' : '0';
            continue;
        }
        buf[k++] = args[i++];
    }
    buf[k] = '\0';
    size_t j = 0;
    while (j < k && isspace((unsigned char)buf[j]))
        j++;
    if (j == k)
        return true;
    json_error_t error;
    json_t *v = json_loadb(buf, k, JSON_DECODE_ANY, &error);
    if (!v) {
        snprintf(buf, size, "%s", error.text);
        *why = buf;
        return false;
    }
    bool obj = json_is_object(v);
    json_decref(v);
    if (!obj)
        *why = "arguments must be a JSON object";
    return obj;
}
