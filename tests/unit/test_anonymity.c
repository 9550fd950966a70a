/* test_anonymity.c - the pure anonymity rules of service/anonymity.c.
 *
 * Every summary figure passes through these functions, so they are tried
 * on every input shape that matters: exhaustively where the domain is small
 * (k, visibility), against a brute-force reference on many seeded random
 * histograms (mean, median, variance), by property (trend symmetry and
 * noise, the complementary-suppression invariant), and on hand-computed
 * cases a reader can check on paper. */
#include "anonymity.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RANDOM_CASES 10000

/* ---- a small seeded PRNG (xorshift64*), so failures reproduce ---------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
    rng_state = s ? s : 0x9e3779b97f4a7c15ull;
}

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Uniform in [lo, hi]. */
static int rng_range(int lo, int hi)
{
    return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1));
}

/* A random histogram of n scores; the shape varies from case to case
 * (uniform, clustered around a centre, two clusters) so medians land both
 * on and between scores and variances range from 0 to large. */
static void rng_hist(int h[NSCORES], int n)
{
    memset(h, 0, sizeof(int) * NSCORES);
    int shape = rng_range(0, 2), c1 = rng_range(1, 10), c2 = rng_range(1, 10);
    for (int i = 0; i < n; i++) {
        int s;
        if (shape == 0)
            s = rng_range(1, 10);
        else {
            int c = (shape == 2 && rng_range(0, 1)) ? c2 : c1;
            s = c + rng_range(-1, 1);
            s = s < 1 ? 1 : s > 10 ? 10 : s;
        }
        h[s - 1]++;
    }
}

/* ---- brute-force references over the expanded, sorted list of scores --- */

static int expand(const int h[NSCORES], int *out)
{
    int n = 0;
    for (int s = 1; s <= NSCORES; s++)
        for (int j = 0; j < h[s - 1]; j++)
            out[n++] = s;
    return n; /* sorted by construction; the references do not rely on it: */
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static void shuffle(int *x, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = rng_range(0, i), t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

static double ref_mean(const int *x, int n)
{
    long s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return n ? (double)s / n : 0.0;
}

static double ref_median(int *x, int n)
{
    if (n == 0)
        return 0.0;
    qsort(x, (size_t)n, sizeof(int), cmp_int);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2.0;
}

/* Sample variance, exactly in integers: (n*sum(x^2) - sum(x)^2) / (n(n-1)). */
static double ref_variance(const int *x, int n)
{
    if (n < 2)
        return 0.0;
    long s = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        s += x[i];
        s2 += (long)x[i] * x[i];
    }
    return (double)(n * s2 - s * s) / ((double)n * (n - 1));
}

static void expect_close(double got, double want, const char *what, int n)
{
    cr_assert(fabs(got - want) <= 1e-9 * (1.0 + fabs(want)), "%s: got %.12f, want %.12f (n=%d)",
              what, got, want, n);
}

/* A histogram from a list of scores, 0-terminated. */
static void hist_of(int h[NSCORES], const int *scores)
{
    memset(h, 0, sizeof(int) * NSCORES);
    for (int i = 0; scores[i]; i++)
        h[scores[i] - 1]++;
}

/* ---- k and visibility --------------------------------------------------- */

Test(anonymity, k_is_never_below_three)
{
    for (int c = -1000; c <= 1000; c++) {
        int k = anon_k(c);
        cr_assert_geq(k, 3, "anon_k(%d) = %d", c, k);
        cr_assert_eq(k, c < 3 ? 3 : c, "anon_k(%d) = %d", c, k);
    }
    cr_assert_eq(anon_k(INT_MIN), 3);
    cr_assert_eq(anon_k(0), 3);
    cr_assert_eq(anon_k(2), 3);
    cr_assert_eq(anon_k(3), 3);
    cr_assert_eq(anon_k(5), 5);
    cr_assert_eq(anon_k(INT_MAX), INT_MAX);
}

Test(anonymity, visible_exactly_when_people_reach_max_k_3)
{
    for (int people = 0; people <= 20; people++) {
        for (int k = 0; k <= 10; k++) {
            int want = people > 0 && people >= (k > 3 ? k : 3);
            cr_assert_eq(!!anon_visible(people, k), want, "anon_visible(%d, %d) = %d, want %d",
                         people, k, anon_visible(people, k), want);
        }
    }
}

Test(anonymity, never_visible_for_nobody_or_nonsense_counts)
{
    for (int k = -5; k <= 10; k++) {
        cr_assert_not(anon_visible(0, k), "k=%d", k);
        cr_assert_not(anon_visible(-1, k), "k=%d", k);
        cr_assert_not(anon_visible(INT_MIN, k), "k=%d", k);
        cr_assert_not(anon_visible(1, k), "one person is never enough (k=%d)", k);
        cr_assert_not(anon_visible(2, k), "two people are never enough (k=%d)", k);
    }
    /* A negative or zero configured k must not open up small groups. */
    cr_assert_not(anon_visible(2, -100));
    cr_assert(anon_visible(3, -100));
}

/* ---- histogram statistics ----------------------------------------------- */

Test(anonymity, hist_stats_match_brute_force_on_random_histograms)
{
    rng_seed(20240601);
    int h[NSCORES], x[400];
    for (int c = 0; c < RANDOM_CASES; c++) {
        int n = c % 10 == 0 ? rng_range(1, 4) : rng_range(1, 400);
        rng_hist(h, n);
        int m = expand(h, x);
        cr_assert_eq(m, n);
        cr_assert_eq(hist_count(h), n, "case %d", c);
        shuffle(x, m); /* the references must not lean on the order */
        expect_close(hist_mean(h), ref_mean(x, m), "mean", n);
        expect_close(hist_variance(h), ref_variance(x, m), "variance", n);
        double med = ref_median(x, m);
        cr_assert_eq(hist_median(h), med, "median: got %f, want %f (case %d, n=%d)", hist_median(h),
                     med, c, n);
        /* The median of 1-10 scores is a score or halfway between two. */
        cr_assert_eq(fmod(hist_median(h) * 2.0, 1.0), 0.0);
        cr_assert(hist_median(h) >= 1.0 && hist_median(h) <= 10.0);
        cr_assert(hist_mean(h) >= 1.0 && hist_mean(h) <= 10.0);
        cr_assert(hist_variance(h) >= 0.0);
    }
}

Test(anonymity, hist_stats_hand_computed)
{
    int h[NSCORES];
    /* Odd count: 3 4 4 9 10 -> mean 6, median 4, variance (9+4+4+9+16)/4 = 10.5. */
    hist_of(h, (const int[]){9, 4, 10, 3, 4, 0});
    cr_assert_eq(hist_count(h), 5);
    cr_assert_float_eq(hist_mean(h), 6.0, 1e-12);
    cr_assert_eq(hist_median(h), 4.0);
    cr_assert_float_eq(hist_variance(h), 10.5, 1e-12);

    /* Even count, median between two different scores: 1 10 -> 5.5. */
    hist_of(h, (const int[]){10, 1, 0});
    cr_assert_float_eq(hist_mean(h), 5.5, 1e-12);
    cr_assert_eq(hist_median(h), 5.5);
    cr_assert_float_eq(hist_variance(h), 40.5, 1e-12);

    /* Even count: 1 2 3 4 -> median 2.5, mean 2.5, variance 5/3. */
    hist_of(h, (const int[]){4, 3, 2, 1, 0});
    cr_assert_eq(hist_median(h), 2.5);
    cr_assert_float_eq(hist_mean(h), 2.5, 1e-12);
    cr_assert_float_eq(hist_variance(h), 5.0 / 3.0, 1e-12);

    /* Even count, the two middle scores equal: 2 7 7 9 -> median 7, mean 6.25. */
    hist_of(h, (const int[]){7, 2, 9, 7, 0});
    cr_assert_eq(hist_median(h), 7.0);
    cr_assert_float_eq(hist_mean(h), 6.25, 1e-12);

    /* Even count, middle pair straddling an empty gap: 1 1 8 10 -> 4.5. */
    hist_of(h, (const int[]){1, 10, 1, 8, 0});
    cr_assert_eq(hist_median(h), 4.5);
    cr_assert_float_eq(hist_mean(h), 5.0, 1e-12);

    /* Six people, 4 5 | 6 8 with the median 5.5 between 5 and 6. */
    hist_of(h, (const int[]){4, 5, 6, 8, 3, 10, 0});
    cr_assert_eq(hist_median(h), 5.5);
    cr_assert_float_eq(hist_mean(h), 6.0, 1e-12);
    cr_assert_float_eq(hist_variance(h), 34.0 / 5.0, 1e-12);

    /* All at the extremes. */
    hist_of(h, (const int[]){10, 10, 10, 0});
    cr_assert_eq(hist_median(h), 10.0);
    cr_assert_float_eq(hist_mean(h), 10.0, 1e-12);
    cr_assert_float_eq(hist_variance(h), 0.0, 1e-12);
    hist_of(h, (const int[]){1, 0});
    cr_assert_eq(hist_median(h), 1.0);
    cr_assert_float_eq(hist_mean(h), 1.0, 1e-12);
    cr_assert_float_eq(hist_variance(h), 0.0, 1e-12, "one score has no spread");

    /* Empty: defined as 0, never NaN. */
    memset(h, 0, sizeof(h));
    cr_assert_eq(hist_count(h), 0);
    cr_assert_eq(hist_mean(h), 0.0);
    cr_assert_eq(hist_median(h), 0.0);
    cr_assert_eq(hist_variance(h), 0.0);
}

Test(anonymity, hist_stats_on_large_counts)
{
    int h[NSCORES] = {0};
    h[0] = 1000000; /* a million 1s and a million and one 10s */
    h[9] = 1000001;
    cr_assert_eq(hist_count(h), 2000001);
    cr_assert_eq(hist_median(h), 10.0);
    expect_close(hist_mean(h), (1000000.0 + 10000010.0) / 2000001.0, "mean", 2000001);
    h[9] = 1000000;
    cr_assert_eq(hist_median(h), 5.5);
    cr_assert_float_eq(hist_mean(h), 5.5, 1e-12);
}

/* ---- trend -------------------------------------------------------------- */

static enum trend mirror(enum trend t)
{
    return t == TREND_UP ? TREND_DOWN : t == TREND_DOWN ? TREND_UP : t;
}

Test(anonymity, trend_names)
{
    cr_assert_str_eq(trend_name(TREND_UP), "up");
    cr_assert_str_eq(trend_name(TREND_DOWN), "down");
    cr_assert_str_eq(trend_name(TREND_EQUAL), "equal");
    cr_assert_null(trend_name(TREND_NONE));
}

Test(anonymity, trend_is_none_without_data_on_either_side)
{
    int empty[NSCORES] = {0}, h[NSCORES];
    hist_of(h, (const int[]){5, 6, 7, 8, 9, 0});
    cr_assert_eq(anon_trend(h, empty), TREND_NONE);
    cr_assert_eq(anon_trend(empty, h), TREND_NONE);
    cr_assert_eq(anon_trend(empty, empty), TREND_NONE);
}

Test(anonymity, trend_properties_on_random_histograms)
{
    rng_seed(777);
    int a[NSCORES], b[NSCORES];
    int ups = 0, equals = 0;
    for (int c = 0; c < RANDOM_CASES; c++) {
        rng_hist(a, rng_range(1, 60));
        rng_hist(b, rng_range(1, 60));
        enum trend t = anon_trend(a, b);
        double diff = hist_mean(a) - hist_mean(b);
        cr_assert(t == TREND_EQUAL || t == TREND_UP || t == TREND_DOWN, "case %d: %d", c, t);
        /* Identical histograms never move. */
        cr_assert_eq(anon_trend(a, a), TREND_EQUAL, "case %d", c);
        /* Swapping the months mirrors the answer. */
        cr_assert_eq(anon_trend(b, a), mirror(t), "case %d: not symmetric", c);
        /* Less than half a point is never a movement. */
        if (fabs(diff) < 0.5)
            cr_assert_eq(t, TREND_EQUAL, "case %d: diff %f read as %s", c, diff, trend_name(t));
        /* A movement points the way the means moved, and only beyond noise. */
        if (t == TREND_UP)
            cr_assert(diff >= 0.5, "case %d: up with diff %f", c, diff);
        if (t == TREND_DOWN)
            cr_assert(diff <= -0.5, "case %d: down with diff %f", c, diff);
        if (t != TREND_EQUAL) {
            double se = sqrt(hist_variance(a) / hist_count(a) + hist_variance(b) / hist_count(b));
            cr_assert(fabs(diff) > 2.0 * se, "case %d: |diff| %f within 2 se %f", c, diff, se);
        }
        ups += t == TREND_UP;
        equals += t == TREND_EQUAL;
    }
    /* The generator must have exercised both outcomes. */
    cr_assert_gt(ups, RANDOM_CASES / 20, "only %d ups", ups);
    cr_assert_gt(equals, RANDOM_CASES / 20, "only %d equals", equals);
}

Test(anonymity, trend_equal_for_small_differences)
{
    int cur[NSCORES] = {0}, prev[NSCORES] = {0};
    /* 40 people at 7 and 8 in both months; 0.4 apart, with a tiny spread. */
    cur[6] = 12, cur[7] = 28;   /* mean 7.7 */
    prev[6] = 28, prev[7] = 12; /* mean 7.3 */
    cr_assert_float_eq(hist_mean(cur) - hist_mean(prev), 0.4, 1e-12);
    cr_assert_eq(anon_trend(cur, prev), TREND_EQUAL);
    cr_assert_eq(anon_trend(prev, cur), TREND_EQUAL);
    /* Zero spread, 0.25 apart: still equal although the SE is ~0. */
    int a[NSCORES] = {0}, b[NSCORES] = {0};
    a[5] = 3, a[6] = 1; /* 6 6 6 7: mean 6.25 */
    b[5] = 4;           /* 6 6 6 6 */
    cr_assert_eq(anon_trend(a, b), TREND_EQUAL);
    cr_assert_eq(anon_trend(b, a), TREND_EQUAL);
}

Test(anonymity, trend_equal_when_noisy)
{
    int cur[NSCORES], prev[NSCORES];
    /* Polarised small team: 1 10 1 10 1 (4.6) against 10 1 10 1 10 (6.4).
     * 1.8 apart, but the variance is 24.3 each: 2 se = 6.2. */
    hist_of(cur, (const int[]){1, 10, 1, 10, 1, 0});
    hist_of(prev, (const int[]){10, 1, 10, 1, 10, 0});
    cr_assert_eq(anon_trend(cur, prev), TREND_EQUAL);
    cr_assert_eq(anon_trend(prev, cur), TREND_EQUAL);
    /* Three people each moving up one point (4 5 6 -> 5 6 7): a full point,
     * but 2 se = 1.63, so it is noise in so small a group. */
    hist_of(cur, (const int[]){5, 6, 7, 0});
    hist_of(prev, (const int[]){4, 5, 6, 0});
    cr_assert_eq(anon_trend(cur, prev), TREND_EQUAL);
    /* The same shift in a group twenty times larger is a movement. */
    for (int i = 0; i < NSCORES; i++)
        cur[i] *= 20, prev[i] *= 20;
    cr_assert_eq(anon_trend(cur, prev), TREND_UP);
    cr_assert_eq(anon_trend(prev, cur), TREND_DOWN);
}

Test(anonymity, trend_up_and_down_for_clear_shifts)
{
    int cur[NSCORES], prev[NSCORES];
    /* Everybody from 5 to 8: no spread at all, three points. */
    hist_of(cur, (const int[]){8, 8, 8, 8, 8, 0});
    hist_of(prev, (const int[]){5, 5, 5, 5, 5, 0});
    cr_assert_eq(anon_trend(cur, prev), TREND_UP);
    cr_assert_eq(anon_trend(prev, cur), TREND_DOWN);
    /* Tight clusters 8/9 against 4/5, twenty people each. */
    memset(cur, 0, sizeof(cur));
    memset(prev, 0, sizeof(prev));
    cur[7] = 10, cur[8] = 10;
    prev[3] = 10, prev[4] = 10;
    cr_assert_eq(anon_trend(cur, prev), TREND_UP);
    cr_assert_eq(anon_trend(prev, cur), TREND_DOWN);
    /* Exactly half a point with no spread is a movement (the threshold is
     * "at least half a point"). */
    memset(cur, 0, sizeof(cur));
    memset(prev, 0, sizeof(prev));
    cur[6] = 5, cur[7] = 5; /* 7.5 */
    prev[6] = 10;           /* 7.0, variance 0 */
    cr_assert_float_eq(hist_mean(cur) - hist_mean(prev), 0.5, 1e-12);
    /* se = sqrt(var(cur)/10) = sqrt((10*0.25/9)/10) = 0.1667: 2 se < 0.5 */
    cr_assert_eq(anon_trend(cur, prev), TREND_UP);
    cr_assert_eq(anon_trend(prev, cur), TREND_DOWN);
}

/* ---- complementary suppression ----------------------------------------- */

static void check_complement(const int *people, int n, int k, int shown, const int *hidden)
{
    int kk = k < 3 ? 3 : k, total = 0, hid = 0;
    for (int i = 0; i < n; i++) {
        total += people[i];
        if (people[i] > 0 && people[i] < kk)
            cr_assert(hidden[i], "team %d with %d people shown at k=%d", i, people[i], k);
        if (people[i] >= kk)
            cr_assert_not(hidden[i], "team %d with %d people hidden at k=%d", i, people[i], k);
        if (hidden[i])
            hid += people[i];
    }
    if (shown) {
        cr_assert_geq(total, kk, "total of %d shown at k=%d", total, k);
        cr_assert(hid == 0 || hid >= kk, "total shown while hidden teams sum to %d (k=%d)", hid, k);
        /* What a reader subtracts: total minus every shown team. */
        int rest = total;
        for (int i = 0; i < n; i++)
            if (!hidden[i])
                rest -= people[i];
        cr_assert(rest == 0 || rest >= kk, "total - shown teams = %d people (k=%d)", rest, k);
    } else {
        /* Nothing is suppressed needlessly: a safe total is shown. */
        cr_assert(total < kk || (hid > 0 && hid < kk),
                  "total %d hidden although hidden teams sum to %d (k=%d)", total, hid, k);
    }
}

Test(anonymity, complement_invariant_on_random_team_sizes)
{
    rng_seed(4242);
    int people[8], hidden[8], shown_total = 0, hidden_total = 0;
    for (int c = 0; c < 100000; c++) {
        int n = rng_range(1, 8), k = rng_range(3, 7);
        for (int i = 0; i < n; i++) {
            /* Bias toward small teams and zeros, where the danger is. */
            people[i] = rng_range(0, 3) == 0 ? 0 : rng_range(0, 12);
            hidden[i] = -1;
        }
        int shown = anon_complement(people, n, k, hidden);
        for (int i = 0; i < n; i++)
            cr_assert(hidden[i] == 0 || hidden[i] == 1, "case %d: suppressed[%d] = %d", c, i,
                      hidden[i]);
        check_complement(people, n, k, shown, hidden);
        shown_total += !!shown;
        hidden_total += !shown;
    }
    cr_assert_gt(shown_total, 1000);
    cr_assert_gt(hidden_total, 1000);
}

Test(anonymity, complement_with_k_below_minimum_uses_three)
{
    int people[] = {5, 2}, hidden[2];
    cr_assert_not(anon_complement(people, 2, 0, hidden));
    cr_assert(hidden[1]);
    cr_assert_not(anon_complement(people, 2, 1, hidden));
    int ok[] = {5, 3};
    cr_assert(anon_complement(ok, 2, 2, hidden));
    cr_assert_not(hidden[0] || hidden[1]);
}

Test(anonymity, complement_hand_cases)
{
    int hidden[8];
    /* One small team among big ones: total minus the big ones = 2 people. */
    int a[] = {10, 8, 2};
    cr_assert_not(anon_complement(a, 3, 5, hidden), "total would reveal the team of 2");
    cr_assert(!hidden[0] && !hidden[1] && hidden[2]);
    /* One person alone is the worst case. */
    int b[] = {20, 1};
    cr_assert_not(anon_complement(b, 2, 5, hidden));
    cr_assert(!hidden[0] && hidden[1]);
    /* Two small teams together reach k: the remainder is a group of 6. */
    int c[] = {10, 3, 3};
    cr_assert(anon_complement(c, 3, 5, hidden));
    cr_assert(!hidden[0] && hidden[1] && hidden[2]);
    /* Two small teams together short of k. */
    int d[] = {10, 2, 2};
    cr_assert_not(anon_complement(d, 3, 5, hidden));
    /* Exactly k hidden in total. */
    int e[] = {7, 4, 1};
    cr_assert(anon_complement(e, 3, 5, hidden));
    cr_assert(hidden[1] && hidden[2]);
    /* A team with nobody is no group to reveal: the total may be shown. */
    int f[] = {6, 5, 0};
    cr_assert(anon_complement(f, 3, 5, hidden));
    cr_assert(!hidden[0] && !hidden[1]);
    /* Every team visible. */
    int g[] = {5, 5, 5};
    cr_assert(anon_complement(g, 3, 5, hidden));
    cr_assert(!hidden[0] && !hidden[1] && !hidden[2]);
    /* Everybody small but the total reaches k: nothing is shown per team, and
     * the total reveals no team (the remainder is all of them, 6 people). */
    int h[] = {2, 2, 2};
    cr_assert(anon_complement(h, 3, 5, hidden));
    cr_assert(hidden[0] && hidden[1] && hidden[2]);
    /* The total itself below k. */
    int i[] = {2, 1};
    cr_assert_not(anon_complement(i, 2, 5, hidden));
    /* No teams, no people. */
    int z[] = {0, 0, 0};
    cr_assert_not(anon_complement(z, 3, 5, hidden));
    /* A single team: the total is that team. */
    int one[] = {4};
    cr_assert_not(anon_complement(one, 1, 5, hidden));
    cr_assert(hidden[0]);
    int one_ok[] = {5};
    cr_assert(anon_complement(one_ok, 1, 5, hidden));
    cr_assert_not(hidden[0]);
    /* Changing k moves the line: at k=3 the team of 3 is shown. */
    int k3[] = {10, 3};
    cr_assert(anon_complement(k3, 2, 3, hidden));
    cr_assert(!hidden[1]);
    cr_assert_not(anon_complement(k3, 2, 4, hidden));
    cr_assert(hidden[1]);
}
