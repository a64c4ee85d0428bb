/*
 * keys.c - API key records shared by the runtime's keystore and the
 * `struere keys` command (rt_keys.h): their dates.
 */
#include "rt_keys.h"

#include <stdio.h>
#include <string.h>

static int digits(const char *s, size_t n, int *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int rt_key_date_parse(const char *s, size_t n, int64_t *t, char canon[21])
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!(n == 10 || n == 20) || !digits(s, 4, &y) || s[4] != '-' ||
        !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d))
        return 0;
    if (n == 20 && (s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
                    !digits(s + 14, 2, &mi) || s[16] != ':' ||
                    !digits(s + 17, 2, &se) || s[19] != 'Z'))
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
        h > 23 || mi > 59 || se > 59)
        return 0;
    *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    if (canon) {
        char full[64]; /* what the compiler cannot tell the ranges allow */
        snprintf(full, sizeof(full), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d,
                 h, mi, se);
        memcpy(canon, full, 21);
    }
    return 1;
}
