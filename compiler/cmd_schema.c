/*
 * cmd_schema.c - `struere schema export DIR`: the definition schemas as
 * JSON Schema (draft-07) files, for editors' YAML extensions. The x-
 * extensions are dropped; everything else is the schema files' content.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "cli.h"
#include "diag.h"
#include "node.h"
#include "schema.h"

static const char schema_usage[] =
    "usage: struere schema export DIR\n"
    "\n"
    "Writes DIR/<kind>.json (project, agent, data, role, automation, tool,\n"
    "eval, fixture) as JSON Schema draft-07, and builtin-tools.json. For VS\n"
    "Code's YAML extension, map them in settings.json, e.g.\n"
    "  \"yaml.schemas\": {\"DIR/agent.json\": \"agents/*.yaml\",\n"
    "                   \"DIR/role.json\": \"roles/*.yaml\", ...}\n";

static json_t *to_json(const struct node *n, int depth)
{
    if (depth > 200)
        return json_null();
    switch (n->type) {
    case NODE_NULL:
        return json_null();
    case NODE_BOOL:
        return json_boolean(n->v.b);
    case NODE_INT:
        return json_integer(n->v.i);
    case NODE_FLOAT:
        return json_real(n->v.f);
    case NODE_STRING:
        return json_stringn(n->str, n->len);
    case NODE_SEQ: {
        json_t *a = json_array();
        for (size_t i = 0; i < n->n; i++)
            json_array_append_new(a, to_json(n->kids[i], depth + 1));
        return a;
    }
    case NODE_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; i < n->n; i++) {
            const char *k = n->kids[2 * i]->str;
            if (!strncmp(k, "x-", 2))
                continue;
            json_object_set_new(o, k, to_json(n->kids[2 * i + 1], depth + 1));
        }
        return o;
    }
    }
    return json_null();
}

int cmd_schema(const struct cli *g, int argc, char **argv)
{
    (void)g;
    for (int i = 1; i < argc; i++)
        if (cli_wants_help(argv[i])) {
            fputs(schema_usage, stdout);
            return EXIT_OK;
        }
    if (argc != 3 || strcmp(argv[1], "export") || argv[2][0] == '-') {
        fputs(schema_usage, stderr);
        return EXIT_USAGE;
    }
    const char *dir = argv[2];
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        cli_error("cannot create %s: %s", dir, strerror(errno));
        return EXIT_IO;
    }
    struct arena a;
    arena_init(&a);
    struct diag_list diags;
    diag_list_init(&diags, &a);
    struct schema_set set = {0};
    int rc = EXIT_OK;
    if (schema_set_load(&set, &a, &diags) < 0) {
        cli_error("the built-in schemas are invalid");
        rc = EXIT_IO;
        goto done;
    }
    for (size_t i = 0; i < set.nfiles; i++) {
        if (!set.files[i].root)
            continue;
        json_t *j = to_json(set.files[i].root, 0);
        if (set.files[i].schema) {
            json_t *out = json_object();
            json_object_set_new(
                out, "$schema",
                json_string("http://json-schema.org/draft-07/schema#"));
            json_object_update(out, j);
            json_decref(j);
            char id[160];
            snprintf(id, sizeof(id), "%s.json", set.files[i].name);
            json_object_set_new(out, "$id", json_string(id));
            j = out;
        }
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.json", dir, set.files[i].name);
        if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) <
            0) {
            cli_error("cannot write %s", path);
            rc = EXIT_IO;
        } else {
            printf("wrote %s\n", path);
        }
        json_decref(j);
    }
done:
    schema_set_free(&set);
    arena_free(&a);
    return rc;
}
