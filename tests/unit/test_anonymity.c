/* test_anonymity.c - the pure anonymity rules of service/domain/anonymity.c.
 *
 * Every summary figure passes through these functions, so they are tried
 * on every input shape that matters: exhaustively where the domain is small
 * (k, visibility), against a brute-force reference on many seeded random
 * histograms (mean, median, variance), by property (trend symmetry and
 * noise, the complementary-suppression invariant), and on hand-computed
 * cases a reader can check on paper. */
#include "domain/anonymity.h"

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

/* A published row with every block stored, each on `people` people. */
static struct published row_of(int people, int k_pub)
{
    struct published p;
    memset(&p, 0, sizeof(p));
    p.present = 1;
    p.k = k_pub;
    for (int b = 0; b < NBLOCKS; b++) {
        p.people[b] = people;
        p.stored[b] = 1;
    }
    return p;
}

Test(anonymity, needed_is_the_larger_k_plus_the_reader)
{
    for (int kp = 3; kp <= 9; kp++)
        for (int kc = -2; kc <= 9; kc++)
            for (int c = 0; c <= 1; c++) {
                struct published p = row_of(5, kp);
                struct reader rd = {kc, c};
                int k = kc < 3 ? 3 : kc;
                int want = (kp > k ? kp : k) + c;
                cr_assert_eq(anon_needed(&p, &rd), want, "k_pub=%d k_now=%d contributed=%d", kp, kc,
                             c);
            }
}

Test(anonymity, block_shown_exactly_when_people_reach_needed)
{
    for (int people = -1; people <= 12; people++)
        for (int kp = 3; kp <= 8; kp++)
            for (int kc = 0; kc <= 8; kc++)
                for (int c = 0; c <= 1; c++)
                    for (int b = 0; b < NBLOCKS; b++) {
                        struct published p = row_of(people, kp);
                        struct reader rd = {kc, c};
                        int k = kc < 3 ? 3 : kc;
                        int want = people > 0 && people >= (kp > k ? kp : k) + c;
                        cr_assert_eq(!!anon_block_shown(&p, (enum block)b, &rd), want,
                                     "people=%d k_pub=%d k_now=%d contributed=%d block=%d", people,
                                     kp, kc, c, b);
                    }
}

Test(anonymity, a_unanimous_vermogen_is_not_shown)
{
    int h[NSCORES] = {0};
    cr_assert_not(anon_distribution_shown(h), "no answers");
    for (int s = 0; s < NSCORES; s++) {
        memset(h, 0, sizeof(h));
        h[s] = 7;
        cr_assert_not(anon_distribution_shown(h), "everyone gave %d", s + 1);
        h[(s + 1) % NSCORES] = 1;
        cr_assert(anon_distribution_shown(h), "one answer differs from %d", s + 1);
    }
}

Test(anonymity, nothing_shown_that_publication_did_not_store)
{
    struct reader rd = {3, 0};
    for (int b = 0; b < NBLOCKS; b++) {
        struct published p = row_of(50, 3);
        p.stored[b] = 0;
        cr_assert_not(anon_block_shown(&p, (enum block)b, &rd), "block %d", b);
        p = row_of(50, 3);
        p.present = 0;
        cr_assert_not(anon_block_shown(&p, (enum block)b, &rd), "absent row, block %d", b);
    }
    /* Hidden check-ins hide the whole month, whatever the blocks hold. */
    struct published p = row_of(50, 3);
    p.people[BLOCK_CHECKINS] = 2;
    for (int b = 0; b < NBLOCKS; b++)
        cr_assert_not(anon_block_shown(&p, (enum block)b, &rd), "block %d", b);
    /* A lower k now never shows what was published at a higher one. */
    p = row_of(6, 7);
    rd.k = 3;
    cr_assert_not(anon_block_shown(&p, BLOCK_CHECKINS, &rd));
}

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

/* n teams of the given sizes (0: no row) behind a total of `total` people
 * with `hidden` people in the teams not stored at publication. */
static void world(struct published *teams, struct reader *readers, const int *sizes, int n,
                  int k_pub, int k_now)
{
    for (int i = 0; i < n; i++) {
        teams[i] = row_of(sizes[i], k_pub);
        teams[i].present = sizes[i] > 0;
        for (int b = 0; b < NBLOCKS; b++)
            teams[i].stored[b] = sizes[i] >= k_pub;
        readers[i] = (struct reader){k_now, 0};
    }
}

Test(anonymity, total_needs_a_safe_remainder)
{
    struct published teams[4], total;
    struct reader readers[4], rd = {5, 0};
    int sizes[] = {10, 8, 2, 0};
    world(teams, readers, sizes, 4, 5, 5);
    total = row_of(20, 5);
    total.hidden[BLOCK_CHECKINS] = 2;
    cr_assert_not(anon_total_block_shown(&total, teams, readers, 4, BLOCK_CHECKINS, &rd),
                  "total minus the shown teams would be 2 people");
    total.hidden[BLOCK_CHECKINS] = 5;
    cr_assert(anon_total_block_shown(&total, teams, readers, 4, BLOCK_CHECKINS, &rd));
    total.hidden[BLOCK_CHECKINS] = 0;
    cr_assert(anon_total_block_shown(&total, teams, readers, 4, BLOCK_CHECKINS, &rd));
    /* The reader contributed: the remainder must hold one more. */
    rd.contributed = 1;
    total.hidden[BLOCK_CHECKINS] = 5;
    cr_assert_not(anon_total_block_shown(&total, teams, readers, 4, BLOCK_CHECKINS, &rd));
    total.hidden[BLOCK_CHECKINS] = 6;
    cr_assert(anon_total_block_shown(&total, teams, readers, 4, BLOCK_CHECKINS, &rd));
}

Test(anonymity, total_hidden_when_a_team_shown_at_publication_is_hidden_now)
{
    struct published teams[3], total = row_of(17, 5);
    struct reader readers[3], rd = {5, 0};
    int sizes[] = {6, 5, 6};
    world(teams, readers, sizes, 3, 5, 5);
    for (int b = 0; b < NBLOCKS; b++)
        cr_assert(anon_total_block_shown(&total, teams, readers, 3, (enum block)b, &rd));
    /* k raised to 6: the team of 5 is hidden now, and total - the others = it. */
    rd.k = 6;
    for (int i = 0; i < 3; i++)
        readers[i].k = 6;
    cr_assert_not(anon_total_block_shown(&total, teams, readers, 3, BLOCK_CHECKINS, &rd));
    /* Back at 5, the same frozen figures show again. */
    rd.k = 5;
    for (int i = 0; i < 3; i++)
        readers[i].k = 5;
    cr_assert(anon_total_block_shown(&total, teams, readers, 3, BLOCK_CHECKINS, &rd));
    /* The reader contributed to one team: that team is hidden from them. */
    readers[1].contributed = 1;
    cr_assert_not(anon_total_block_shown(&total, teams, readers, 3, BLOCK_GOALS, &rd));
}

Test(anonymity, total_invariant_on_random_worlds)
{
    rng_seed(4242);
    struct published teams[8], total;
    struct reader readers[8];
    int sizes[8], shown_count = 0;
    for (int c = 0; c < 100000; c++) {
        int n = rng_range(1, 8), kp = rng_range(3, 7), kn = rng_range(0, 9);
        int sum = 0, hid = 0;
        for (int i = 0; i < n; i++) {
            sizes[i] = rng_range(0, 3) == 0 ? 0 : rng_range(0, 12);
            sum += sizes[i];
        }
        world(teams, readers, sizes, n, kp, kn);
        for (int i = 0; i < n; i++) {
            readers[i].contributed = rng_range(0, 9) == 0;
            if (!teams[i].stored[BLOCK_CHECKINS])
                hid += sizes[i];
        }
        total = row_of(sum, kp);
        total.stored[BLOCK_CHECKINS] = sum >= kp && (hid == 0 || hid >= kp);
        total.hidden[BLOCK_CHECKINS] = hid;
        struct reader rd = {kn, rng_range(0, 4) == 0};
        if (!anon_total_block_shown(&total, teams, readers, n, BLOCK_CHECKINS, &rd))
            continue;
        shown_count++;
        /* What this reader can subtract: the total minus every team shown
         * to them must be nobody or enough people besides the reader. */
        int rest = sum;
        for (int i = 0; i < n; i++)
            if (anon_block_shown(&teams[i], BLOCK_CHECKINS, &readers[i]))
                rest -= sizes[i];
        int need = anon_needed(&total, &rd);
        cr_assert(rest == 0 || rest >= need, "case %d: total - shown teams = %d (need %d)", c, rest,
                  need);
        cr_assert_geq(sum, need, "case %d", c);
    }
    cr_assert_gt(shown_count, 1000);
}
