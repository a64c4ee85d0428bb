/*
 * nodebin.c - a node tree as bytes and back (nodebin.h).
 */
#include "nodebin.h"

#include <stdint.h>

#include "arena.h"
#include "limits.h"
#include "node.h"

void nodebin_put(rt_buf *o, const struct node *n)
{
    bin_put_u8(o, n->type);
    bin_put_uv(o, (uint64_t)(unsigned)n->line);
    bin_put_uv(o, (uint64_t)(unsigned)n->col);
    switch (n->type) {
    case NODE_MAP:
    case NODE_SEQ: {
        size_t kids = n->type == NODE_MAP ? 2 * (size_t)n->n : n->n;
        bin_put_uv(o, n->n);
        for (size_t i = 0; i < kids; i++)
            nodebin_put(o, &n->kids[i]);
        return;
    }
    default:
        bin_put_str(o, n->str, node_len(n));
        if (n->type == NODE_BOOL)
            bin_put_u8(o, n->b);
    }
}

static bool get(struct bin_in *r, struct arena *a, const struct source *src,
                int depth, size_t *budget, struct node *n)
{
    unsigned type = bin_u8(r);
    uint64_t line = bin_uv(r), col = bin_uv(r);
    if (r->bad || type > NODE_SEQ || depth > LIMIT_DEPTH || !*budget ||
        line > INT32_MAX || col > INT32_MAX) {
        r->bad = true;
        return false;
    }
    (*budget)--;
    node_init(n, (enum node_type)type, src, (int)line, (int)col);
    if (type == NODE_MAP || type == NODE_SEQ) {
        uint64_t count = bin_uv(r);
        uint64_t kids = type == NODE_MAP ? 2 * count : count;
        /* Each node takes at least 4 bytes, and counts against the
         * budget: an array is never larger than what can fill it. */
        if (r->bad || count > UINT32_MAX || kids > *budget ||
            kids > bin_left(r) / 4) {
            r->bad = true;
            return false;
        }
        n->n = (unsigned)count;
        n->kids = arena_alloc(a, (size_t)(kids ? kids : 1) * sizeof(*n->kids));
        if (!n->kids) {
            r->bad = true; /* out of memory */
            return false;
        }
        for (size_t i = 0; i < kids; i++) {
            struct node *k = &n->kids[i];
            if (!get(r, a, src, depth + 1, budget, k))
                return false;
            if (type == NODE_MAP && i % 2 == 0 &&
                (k->type == NODE_MAP || k->type == NODE_SEQ)) {
                r->bad = true; /* keys are scalars */
                return false;
            }
        }
        return true;
    }
    size_t len = 0;
    n->str = bin_str(r, &len);
    if (len > LIMIT_STRING_BYTES) {
        r->bad = true;
        return false;
    }
    n->len = (unsigned)len;
    if (type == NODE_BOOL)
        n->b = bin_u8(r) != 0;
    return !r->bad;
}

bool nodebin_get(struct bin_in *r, struct arena *a, const struct source *src,
                 size_t *budget, struct node *n)
{
    return get(r, a, src, 0, budget, n);
}
