/*
 * fuzz_state.c - libFuzzer target for the state file reader
 * (runtime/src/state.c, runtime/TRUST.md §6): the input as a state file.
 * Checked on every call: it is read (0) or refused as damaged
 * (STRUERE_ESTORE) with a message naming the file, nothing else; what is
 * read has its revocations sorted without repeats and a trust version
 * when it has a digest; and saved to a new file and read back, it
 * remembers exactly as much.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_state.h"
#include "struere.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void paths(char in[128], char out[128])
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/struere-fuzz-state.XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    snprintf(in, 128, "%s/in", dir);
    snprintf(out, 128, "%s/out", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[128], out[128];
    paths(in, out);
    FILE *f = fopen(in, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    struct rt_state s = {0}, t = {0};
    struere_error err;
    int rc = rt_state_load(in, &s, &err);
    if (rc < 0) {
        if ((rc != STRUERE_ESTORE && rc != STRUERE_ENOMEM) || err.code != rc ||
            !strstr(err.message, in))
            abort();
        rt_state_clear(&s);
        return 0;
    }
    for (size_t i = 1; i < s.nrevoked; i++)
        if (memcmp(s.revoked[i - 1], s.revoked[i], 32) >= 0)
            abort();
    unlink(out);
    if (rt_state_save(out, &s, &err) != 0 ||
        rt_state_load(out, &t, &err) != 0 || rt_state_adds(&s, &t) ||
        rt_state_adds(&t, &s) || s.nrevoked != t.nrevoked ||
        (s.trust_version && memcmp(s.trust_digest, t.trust_digest, 32)))
        abort();
    rt_state_clear(&s);
    rt_state_clear(&t);
    return 0;
}
