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
#include "emit.h"
#include "node.h"
#include "schema.h"

static const char schema_usage[] =
    "usage: struere schema export DIR\n"
    "\n"
    "Writes DIR/<kind>.json (project, agent, data, role, automation, tool,\n"
    "eval, fixture, test) as JSON Schema draft-07, and builtin-tools.json.\n"
    "For VS Code's YAML extension, map them in settings.json, e.g.\n"
    "  \"yaml.schemas\": {\"DIR/agent.json\": \"agents/*.yaml\",\n"
    "                   \"DIR/role.json\": \"roles/*.yaml\", ...}\n";

/* Drops the x- extensions (struere's own diagnostics) at every level:
 * editors only need the JSON Schema keywords. */
static void strip_extensions(json_t *v, int depth)
{
    if (depth > 200)
        return;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, child)
        {
            if (!strncmp(key, "x-", 2))
                json_object_del(v, key);
            else
                strip_extensions(child, depth + 1);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) strip_extensions(child, depth + 1);
    }
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
        json_t *j = emit_node(set.files[i].root);
        strip_extensions(j, 0);
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
        if (json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
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
