/* anonymity.c - when a summary figure may be shown, and what it says.
 *
 * Every summary path goes through these functions; they do no I/O, so the
 * unit tests can try them on every shape of input. The rules (PRODUCT.md,
 * "Anonymity rules"):
 *
 * - A figure exists only when at least k distinct people contributed to it
 *   (k per organisation, never below 3). A month below k carries no
 *   figures at all; the caller prints only {period, suppressed: true}.
 * - Periods are fixed calendar months, so shifting a date range never
 *   splits a group differently: the same month always gives the same
 *   figures or the same suppression.
 * - A trend compares two visible months only; next to a suppressed month
 *   it is null, since "up" would say something about the hidden one.
 * - A total over groups is shown only with complementary suppression (see
 *   anon_complement): no subtraction of shown figures from a total leaves a
 *   group of fewer than k people.
 */
#include "anonymity.h"

#include <math.h>
#include <stdlib.h>

const char *const vermogen_names[NVERMOGENS] = {"absorptie", "verbindend", "opleidend", "lerend"};

int anon_k(int configured)
{
    return configured < ANON_MIN_K ? ANON_MIN_K : configured;
}

int anon_visible(int people, int k)
{
    return people > 0 && people >= anon_k(k);
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

void stats_block_people(const struct month_stats *s, int out[NBLOCKS])
{
    out[BLOCK_REFLECTIONS] = s->reflection_people;
    out[BLOCK_FEEDBACK] = s->feedback_people;
    out[BLOCK_GOALS] = s->goal_people;
}

/* The total minus every shown group is exactly the hidden groups. The
 * classic remedy hides more groups until the hidden ones reach k, but here
 * that protects nothing: whoever reads the organisation summary may read
 * each visible team's own summary too. So the complement that gets
 * suppressed is the total itself. */
int anon_total_visible(const int *people, const int *shown, int n, int k)
{
    int hidden = 0, total = 0;
    for (int i = 0; i < n; i++) {
        total += people[i];
        if (!shown[i])
            hidden += people[i];
    }
    if (hidden > 0 && hidden < anon_k(k))
        return 0;
    return anon_visible(total, k);
}

int anon_complement(const int *people, int n, int k, int *suppressed)
{
    int *shown = calloc((size_t)n + 1, sizeof(int));
    if (!shown)
        abort();
    for (int i = 0; i < n; i++) {
        suppressed[i] = !anon_visible(people[i], k);
        shown[i] = !suppressed[i];
    }
    int ok = anon_total_visible(people, shown, n, k);
    free(shown);
    return ok;
}
