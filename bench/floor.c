/*
 * floor: the compile benchmark's baseline. Walks a definition project, reads
 * every .yaml/.md file and runs it through libyaml's event parser on one
 * thread (for .md only the front matter), counting events. No tree, no
 * validation: DESIGN.md §7 measures `struere check` against this.
 *
 *   cc -O2 bench/floor.c $(pkg-config --cflags --libs yaml-0.1) \
 *       -o build/bench/floor
 *   build/bench/floor PROJECTDIR
 */
#define _DEFAULT_SOURCE /* d_type, DT_* */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

static unsigned long long files, events, bytes;
static int failures;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *buf;

    if (!f)
        return NULL;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, (size_t)st.st_size, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* The YAML between a leading "---" line and the next "---" line. */
static const char *front_matter(const char *text, size_t len, size_t *out)
{
    const char *p, *end = text + len;

    if (len < 4 || memcmp(text, "---", 3) != 0 ||
        (text[3] != '\n' && text[3] != '\r'))
        return NULL;
    p = memchr(text, '\n', len);
    if (!p)
        return NULL;
    p++;
    for (const char *line = p; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (ll >= 3 && memcmp(line, "---", 3) == 0 &&
            (ll == 3 || (ll == 4 && line[3] == '\r'))) {
            *out = (size_t)(line - p);
            return p;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return NULL;
}

static void parse(const char *path, const unsigned char *text, size_t len,
                  size_t first_line)
{
    yaml_parser_t parser;
    yaml_event_t event;
    int done = 0;

    if (!yaml_parser_initialize(&parser)) {
        fprintf(stderr, "floor: out of memory\n");
        exit(3);
    }
    yaml_parser_set_input_string(&parser, text, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &event)) {
            fprintf(stderr, "%s:%zu:%zu: %s\n", path,
                    parser.problem_mark.line + first_line,
                    parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "parse error");
            failures++;
            break;
        }
        events++;
        done = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
}

static void visit_file(const char *path)
{
    int md = ends_with(path, ".md");
    size_t len = 0, fm_len = 0;
    const char *fm;
    char *text;

    if (!md && !ends_with(path, ".yaml") && !ends_with(path, ".yml"))
        return;
    text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "floor: %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    files++;
    bytes += len;
    if (md) {
        fm = front_matter(text, len, &fm_len);
        if (fm)
            parse(path, (const unsigned char *)fm, fm_len, 2);
    } else {
        parse(path, (const unsigned char *)text, len, 1);
    }
    free(text);
}

static void walk(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d) {
        fprintf(stderr, "floor: %s: %s\n", dir, strerror(errno));
        failures++;
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >=
            (int)sizeof path)
            continue;
        if (de->d_type == DT_DIR) {
            walk(path);
        } else if (de->d_type == DT_REG) {
            visit_file(path);
        } else if (de->d_type == DT_UNKNOWN && stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                walk(path);
            else if (S_ISREG(st.st_mode))
                visit_file(path);
        }
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor PROJECTDIR\n");
        return 2;
    }
    walk(argv[1]);
    printf("files %llu events %llu bytes %llu\n", files, events, bytes);
    return failures ? 1 : 0;
}
