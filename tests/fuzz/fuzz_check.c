/*
 * fuzz_check.c - libFuzzer target for the YAML front end and validator:
 * the input is one or more definition files (separated by a line "%%"),
 * the first byte choosing the first file's kind; the project they form is
 * checked through the per-file pipeline and the cross-reference phase.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "project.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FILES = 16 };

static const char *const agent_paths[] = {"agents/a.yaml", "agents/a.md"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The embedded schemas are loaded once and shared, as a long-running
     * host would; they must always load. */
    static struct project shared;
    static int loaded;
    if (!loaded) {
        if (project_open(&shared, ".") < 0)
            abort();
        loaded = 1;
    }
    struct project p;
    project_open_shared(&p, ".", &shared.schemas);
    unsigned first = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    struct def *defs = arena_alloc(&p.arena, MAX_FILES * sizeof(*defs));
    size_t counts[KIND_COUNT] = {0};
    size_t nfiles = 0;
    while (nfiles < MAX_FILES) {
        const char *sep = memmem(text, len, "\n%%\n", 4);
        size_t part = sep ? (size_t)(sep - text) + 1 : len;
        struct def *d = &defs[nfiles];
        unsigned sel = (first + nfiles) % (KIND_COUNT + 1);
        d->kind = sel == KIND_COUNT ? KIND_AGENT : (enum kind)sel;
        d->path = d->kind == KIND_AGENT
                      ? agent_paths[sel == KIND_COUNT]
                      : arena_printf(&p.arena, "k%u/f%zu.yaml", sel, nfiles);
        project_parse_def(&p, &p.arena, d, text, part);
        diag_append(&p.diags, &d->diags);
        counts[d->kind]++;
        nfiles++;
        if (!sep)
            break;
        text = sep + 4;
        len -= part + 3;
    }
    /* Group the files by kind, as project_load does. */
    for (int k = 0; k < KIND_COUNT; k++) {
        p.defs[k] = arena_alloc(&p.arena, (counts[k] + 1) * sizeof(struct def));
        for (size_t i = 0; i < nfiles; i++)
            if (defs[i].kind == (enum kind)k)
                p.defs[k][p.ndefs[k]++] = defs[i];
    }
    check_definitions(&p);
    project_free(&p);
    return 0;
}
