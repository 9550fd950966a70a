/* anonymity.c - what a reader may see of a published month.
 *
 * The figures managers read are frozen when a month is published
 * (migrations/0009_published_periods.sql), with the k then in force and
 * without the contributions of anyone who may read them; whatever k
 * suppressed then was never stored. These functions decide the rest, at
 * read time, and do no I/O, so the unit tests try them on every shape of
 * input:
 *
 * - A block shows only when its distinct people reach the larger of the
 *   k at publication and the k now: raising k hides, lowering it never
 *   shows more than was published.
 * - A reader with a contribution of their own in the month (someone who
 *   became a manager after contributing) needs one person more, so the
 *   others are still k people.
 * - A month whose check-ins are hidden shows nothing; a trend compares two
 *   shown months only. A vermogen on which everyone gave the same score
 *   shows nothing either: its distribution would be everyone's answer.
 * - An organisation total shows only when the teams hidden at publication
 *   hold nobody or enough people, and no team shown at publication is
 *   hidden from this reader now (complementary suppression).
 */
#include "domain/anonymity.h"

#include <math.h>
#include <stddef.h>

int anon_k(int configured)
{
    return configured < ANON_MIN_K ? ANON_MIN_K : configured;
}

int anon_needed(const struct published *p, const struct reader *rd)
{
    int k = anon_k(rd->k);
    if (p->k > k)
        k = p->k;
    return k + (rd->contributed ? 1 : 0);
}

static int anon_block_shown_alone(const struct published *p, enum block b, const struct reader *rd)
{
    return p->present && p->stored[b] && p->people[b] > 0 && p->people[b] >= anon_needed(p, rd);
}

int anon_block_shown(const struct published *p, enum block b, const struct reader *rd)
{
    return anon_block_shown_alone(p, BLOCK_CHECKINS, rd) && anon_block_shown_alone(p, b, rd);
}

int anon_total_block_shown(const struct published *total, const struct published *teams,
                           const struct reader *team_readers, int n, enum block b,
                           const struct reader *rd)
{
    if (!anon_block_shown(total, b, rd))
        return 0;
    int hidden = total->hidden[b];
    if (hidden > 0 && hidden < anon_needed(total, rd))
        return 0;
    for (int i = 0; i < n; i++) {
        int was = teams[i].present && teams[i].stored[BLOCK_CHECKINS] && teams[i].stored[b];
        if (was && !anon_block_shown(&teams[i], b, &team_readers[i]))
            return 0;
    }
    return 1;
}

int anon_distribution_shown(const int h[NSCORES])
{
    int n = hist_count(h);
    for (int i = 0; i < NSCORES; i++)
        if (h[i] == n)
            return 0;
    return 1;
}

int hist_count(const int h[NSCORES])
{
    int n = 0;
    for (int i = 0; i < NSCORES; i++)
        n += h[i];
    return n;
}

double hist_mean(const int h[NSCORES])
{
    int n = hist_count(h);
    long sum = 0;
    for (int i = 0; i < NSCORES; i++)
        sum += (long)(i + 1) * h[i];
    return n ? (double)sum / n : 0.0;
}

/* The score at 0-based rank r in sorted order. */
static int hist_at_rank(const int h[NSCORES], int r)
{
    for (int i = 0, seen = 0; i < NSCORES; i++) {
        seen += h[i];
        if (r < seen)
            return i + 1;
    }
    return NSCORES;
}

double hist_median(const int h[NSCORES])
{
    int n = hist_count(h);
    if (n == 0)
        return 0.0;
    if (n % 2)
        return hist_at_rank(h, n / 2);
    return (hist_at_rank(h, n / 2 - 1) + hist_at_rank(h, n / 2)) / 2.0;
}

double hist_variance(const int h[NSCORES])
{
    int n = hist_count(h);
    if (n < 2)
        return 0.0;
    double mean = hist_mean(h), ss = 0.0;
    for (int i = 0; i < NSCORES; i++)
        ss += h[i] * ((i + 1) - mean) * ((i + 1) - mean);
    return ss / (n - 1);
}

/* The trend rule: a month moves "up" or "down" only when its mean differs
 * from the previous month's by at least half a point AND by more than twice
 * the standard error of that difference (sqrt(s1^2/n1 + s2^2/n2)). Half a
 * point is the smallest change a team would act on on a 1-10 scale; the
 * standard-error test keeps a few people changing their mind in a small team
 * from reading as a movement. Everything else is "equal". */
enum trend anon_trend(const int cur[NSCORES], const int prev[NSCORES])
{
    int n1 = hist_count(cur), n2 = hist_count(prev);
    if (n1 == 0 || n2 == 0)
        return TREND_NONE;
    double diff = hist_mean(cur) - hist_mean(prev);
    double se = sqrt(hist_variance(cur) / n1 + hist_variance(prev) / n2);
    if (fabs(diff) < 0.5 || fabs(diff) <= 2.0 * se)
        return TREND_EQUAL;
    return diff > 0 ? TREND_UP : TREND_DOWN;
}

const char *trend_name(enum trend t)
{
    switch (t) {
    case TREND_UP:
        return "up";
    case TREND_DOWN:
        return "down";
    case TREND_EQUAL:
        return "equal";
    default:
        return NULL;
    }
}
