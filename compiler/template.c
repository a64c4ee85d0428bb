/*
 * template.c - Struere's template scanner: "{{" increments depth, "}}"
 * decrements it; a top-level expression is a function call when it reads
 * name(args), with name [A-Za-z_][A-Za-z0-9_.]*, and a variable otherwise.
 */
#include "template.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"

static void classify(struct tmpl_expr *e)
{
    const char *t = e->text;
    size_t n = e->len;
    e->is_call = false;
    e->name = t;
    e->name_len = n;
    if (n == 0 || !(isalpha((unsigned char)t[0]) || t[0] == '_'))
        return;
    size_t i = 1;
    while (i < n &&
           (isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.'))
        i++;
    if (i < n && t[i] == '(' && t[n - 1] == ')') {
        e->is_call = true;
        e->name_len = i;
        e->args = t + i + 1;
        e->args_len = n - i - 2;
    }
}

int template_scan(const char *s, size_t len, tmpl_visit visit, void *ctx,
                  size_t *err_offset, const char **err)
{
    size_t i = 0;
    while (i + 1 < len) {
        if (!(s[i] == '{' && s[i + 1] == '{')) {
            i++;
            continue;
        }
        size_t open = i;
        int depth = 1;
        i += 2;
        while (i + 1 < len && depth > 0) {
            if (s[i] == '{' && s[i + 1] == '{') {
                if (++depth > LIMIT_TEMPLATE_DEPTH) {
                    *err_offset = open;
                    *err = "templates nest too deeply";
                    return -1;
                }
                i += 2;
            } else if (s[i] == '}' && s[i + 1] == '}') {
                depth--;
                i += 2;
            } else {
                i++;
            }
        }
        if (depth > 0) {
            *err_offset = open;
            *err = "unclosed '{{'";
            return -1;
        }
        struct tmpl_expr e = {.offset = open};
        const char *b = s + open + 2, *end = s + i - 2;
        while (b < end && isspace((unsigned char)*b))
            b++;
        while (end > b && isspace((unsigned char)end[-1]))
            end--;
        e.text = b;
        e.len = (size_t)(end - b);
        classify(&e);
        visit(ctx, &e);
    }
    return 0;
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
