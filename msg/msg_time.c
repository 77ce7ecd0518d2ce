/* msg_time.c -- timestamps by arithmetic: see msg_time.h. */
#include "msg_time.h"

#include <stdbool.h>
#include <stdio.h>

#include "msg_err.h"

#define MS_PER_DAY INT64_C(86400000)
#define YEAR_MIN 1970
#define YEAR_MAX 2099

/* Days before the first of each month in a common year. */
static const int days_before_month[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Leap days in the years 1..y (Gregorian rule). */
static int64_t leaps_through(int y)
{
    return y / 4 - y / 100 + y / 400;
}

/* Days from 1970-01-01 to y-m-d (y >= 1970). */
static int64_t days_since_epoch(int y, int m, int d)
{
    int64_t days = INT64_C(365) * (y - 1970) + leaps_through(y - 1) - leaps_through(1969);

    days += days_before_month[m - 1] + (m > 2 && is_leap(y) ? 1 : 0);
    return days + d - 1;
}

/* Reads n digits at s into *v; false if any is not a digit. */
static bool digits(const char *s, int n, int *v)
{
    int x = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

int msg_time_parse(const char *s, size_t len, int64_t *ms_since_epoch, char *err, size_t errlen)
{
    /* position of each separator in "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    static const struct {
        int pos;
        char c;
    } seps[] = {{4, '-'}, {7, '-'}, {10, 'T'}, {13, ':'}, {16, ':'}, {19, '.'}, {23, 'Z'}};
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int sec = 0;
    int ms = 0;

    if (len != MSG_TIME_LEN) {
        snprintf(err, errlen, "%zu characters, not the form YYYY-MM-DDTHH:MM:SS.mmmZ", len);
        return MSG_ERR_INVAL;
    }
    for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
        if (s[seps[i].pos] != seps[i].c) {
            snprintf(err, errlen, "character %d is not '%c' (form YYYY-MM-DDTHH:MM:SS.mmmZ)",
                     seps[i].pos + 1, seps[i].c);
            return MSG_ERR_INVAL;
        }
    }
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec) ||
        !digits(s + 20, 3, &ms)) {
        snprintf(err, errlen, "a digit is expected (form YYYY-MM-DDTHH:MM:SS.mmmZ)");
        return MSG_ERR_INVAL;
    }
    if (y < YEAR_MIN || y > YEAR_MAX) {
        snprintf(err, errlen, "year %d outside %d..%d", y, YEAR_MIN, YEAR_MAX);
        return MSG_ERR_INVAL;
    }
    if (mo < 1 || mo > 12) {
        snprintf(err, errlen, "month %02d out of range 01..12", mo);
        return MSG_ERR_INVAL;
    }
    if (d < 1 || d > days_in_month(y, mo)) {
        snprintf(err, errlen, "day %02d does not exist in %04d-%02d", d, y, mo);
        return MSG_ERR_INVAL;
    }
    if (h > 23) {
        snprintf(err, errlen, "hour %02d out of range 00..23", h);
        return MSG_ERR_INVAL;
    }
    if (mi > 59) {
        snprintf(err, errlen, "minute %02d out of range 00..59", mi);
        return MSG_ERR_INVAL;
    }
    if (sec > 59) {
        snprintf(err, errlen, "second %02d out of range 00..59 (no leap seconds)", sec);
        return MSG_ERR_INVAL;
    }
    *ms_since_epoch = days_since_epoch(y, mo, d) * MS_PER_DAY +
                      ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
    return MSG_OK;
}

static void put_digits(char *out, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void msg_time_format(int64_t ms, char out[MSG_TIME_LEN + 1])
{
    int64_t days;
    int64_t rem;
    int y = YEAR_MIN;
    int mo = 1;

    if (ms < MSG_TIME_MIN_MS) {
        ms = MSG_TIME_MIN_MS;
    } else if (ms > MSG_TIME_MAX_MS) {
        ms = MSG_TIME_MAX_MS;
    }
    days = ms / MS_PER_DAY;
    rem = ms % MS_PER_DAY;
    while (days >= (is_leap(y) ? 366 : 365)) {   /* at most 130 steps */
        days -= is_leap(y) ? 366 : 365;
        y++;
    }
    while (days >= days_in_month(y, mo)) {
        days -= days_in_month(y, mo);
        mo++;
    }
    put_digits(out, y, 4);
    out[4] = '-';
    put_digits(out + 5, mo, 2);
    out[7] = '-';
    put_digits(out + 8, (int)days + 1, 2);
    out[10] = 'T';
    put_digits(out + 11, (int)(rem / 3600000), 2);
    out[13] = ':';
    put_digits(out + 14, (int)(rem / 60000 % 60), 2);
    out[16] = ':';
    put_digits(out + 17, (int)(rem / 1000 % 60), 2);
    out[19] = '.';
    put_digits(out + 20, (int)(rem % 1000), 3);
    out[23] = 'Z';
    out[24] = '\0';
}
