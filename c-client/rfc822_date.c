/* rfc822_date.c: RFC 5322 date-time to UTC, accepting the obsolete forms
 * seen in real mail: two- and three-digit years, named and military zones,
 * comments, missing seconds or weekday, asctime-like order, dashes. */
#include "rfc822_int.h"

#include <ctype.h>
#include <string.h>

struct dlex {
	const char *p, *end;
};

static void d_skip(struct dlex *d)
{
	int depth = 0;

	while (d->p < d->end) {
		char c = *d->p;
		if (c == '(')
			depth++;
		else if (c == ')' && depth)
			depth--;
		else if (!depth && c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ',' &&
			 c != '-')
			break;
		d->p++;
	}
}

/* Digits: value and count (at most 9 read). */
static int d_num(struct dlex *d, int *v)
{
	int n = 0;

	*v = 0;
	while (d->p < d->end && isdigit((unsigned char)*d->p) && n < 9) {
		*v = *v * 10 + (*d->p++ - '0');
		n++;
	}
	return n;
}

static size_t d_word(struct dlex *d, const char **w)
{
	*w = d->p;
	while (d->p < d->end && isalpha((unsigned char)*d->p))
		d->p++;
	return (size_t)(d->p - *w);
}

static int month_of(const char *w, size_t n)
{
	static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";

	if (n < 3)
		return 0;
	for (int m = 0; m < 12; m++)
		if (str_casecmp_n(w, 3, (char[]){ names[3 * m], names[3 * m + 1],
						   names[3 * m + 2], 0 }) == 0)
			return m + 1;
	return 0;
}

/* Named zones (RFC 5322 4.3); military letters and unknown names are -0000. */
static int zone_of(const char *w, size_t n)
{
	static const struct {
		const char *name;
		int min;
	} z[] = {
		{ "UT", 0 },	      { "UTC", 0 },	    { "GMT", 0 },	  { "Z", 0 },
		{ "EST", -5 * 60 }, { "EDT", -4 * 60 }, { "CST", -6 * 60 }, { "CDT", -5 * 60 },
		{ "MST", -7 * 60 }, { "MDT", -6 * 60 }, { "PST", -8 * 60 }, { "PDT", -7 * 60 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(z); i++)
		if (str_casecmp_n(w, n, z[i].name) == 0)
			return z[i].min;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long days_from_civil(long y, int m, int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* hh:mm[:ss] */
static int d_time(struct dlex *d, int *h, int *mi, int *s)
{
	if (!d_num(d, h) || d->p >= d->end || *d->p != ':')
		return -1;
	d->p++;
	if (!d_num(d, mi))
		return -1;
	*s = 0;
	if (d->p < d->end && *d->p == ':') {
		d->p++;
		if (!d_num(d, s))
			return -1;
	}
	return 0;
}

static int d_zone(struct dlex *d)
{
	const char *w;
	size_t n;
	int v, sign;

	/* d_skip eats '-', so look behind it for the sign of a numeric zone
	 * ("1 Jan 2024 -0500" without a time); the day was read, so p > s */
	if (d->p < d->end && (*d->p == '+' || *d->p == '-')) {
		sign = *d->p++ == '-' ? -1 : 1;
	} else if (d->p < d->end && isdigit((unsigned char)*d->p) && d->p[-1] == '-') {
		sign = -1;
	} else {
		n = d_word(d, &w);
		return n ? zone_of(w, n) : 0;
	}
	if (d_num(d, &v) != 4)
		return 0;
	return sign * ((v / 100) * 60 + v % 100);
}

static int fix_year(int y, int ndigits)
{
	if (ndigits == 2)
		return y < 50 ? 2000 + y : 1900 + y;
	if (ndigits == 3)
		return 1900 + y;
	return y;
}

int rfc822_parse_date(const char *s, size_t len, time_t *t, int *tz_minutes)
{
	struct dlex d = { s, s + len };
	const char *w;
	size_t n;
	int day = 0, mon = 0, year, yd, h = 0, mi = 0, sec = 0, zone;

	d_skip(&d);
	n = d_word(&d, &w);
	if (n && !(mon = month_of(w, n)) && n >= 3) {
		d_skip(&d);                 /* a weekday */
		n = d_word(&d, &w);
		mon = month_of(w, n);
	}
	d_skip(&d);
	if (mon) {                          /* asctime order: Mon Jan 1 10:00:00 2024 */
		if (!d_num(&d, &day))
			return -1;
		d_skip(&d);
		const char *save = d.p;
		if (d_time(&d, &h, &mi, &sec) < 0)
			d.p = save, h = mi = sec = 0;
		d_skip(&d);
		if (!(yd = d_num(&d, &year)))
			return -1;
	} else {
		if (!d_num(&d, &day))
			return -1;
		d_skip(&d);
		n = d_word(&d, &w);
		if (!(mon = month_of(w, n)))
			return -1;
		d_skip(&d);
		if (!(yd = d_num(&d, &year)))
			return -1;
		d_skip(&d);
		const char *save = d.p;
		if (d_time(&d, &h, &mi, &sec) < 0)
			d.p = save, h = mi = sec = 0;
	}
	year = fix_year(year, yd);
	if (day < 1 || day > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	if (sec == 60)
		sec = 59;
	while (d.p < d.end && (*d.p == ' ' || *d.p == '\t' || *d.p == '\r' || *d.p == '\n'))
		d.p++;
	zone = d_zone(&d);
	if (zone < -24 * 60 || zone > 24 * 60)
		zone = 0;
	*t = (time_t)(days_from_civil(year, mon, day) * 86400L + h * 3600L + mi * 60L + sec -
		      zone * 60L);
	if (tz_minutes)
		*tz_minutes = zone;
	return 0;
}
