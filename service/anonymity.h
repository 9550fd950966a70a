/* anonymity.h - the anonymity rules for team summaries, as pure functions. */
#ifndef REFLECTD_ANONYMITY_H
#define REFLECTD_ANONYMITY_H

#define NVERMOGENS 4
#define NSCORES    10
#define ANON_MIN_K 3

extern const char *const vermogen_names[NVERMOGENS];

/* The raw counts of one team in one calendar month (team_month_stats). */
struct month_stats {
    int present;
    int checkins; /* distinct people: one check-in per person, team, month */
    int hist[NVERMOGENS][NSCORES];
    int reflection_people, reflections, refl_by_vermogen[NVERMOGENS];
    int feedback_people, tops, tips;
    int goal_people, goals[4]; /* open, active, achieved, dropped */
};

/* The activity blocks of a summary month, each resting on its own people. */
enum block { BLOCK_REFLECTIONS, BLOCK_FEEDBACK, BLOCK_GOALS, NBLOCKS };
void stats_block_people(const struct month_stats *s, int out[NBLOCKS]);

enum trend { TREND_NONE = -1, TREND_EQUAL, TREND_UP, TREND_DOWN };

/* k as enforced: never below ANON_MIN_K, whatever is configured. */
int anon_k(int configured);
/* May a figure resting on this many distinct people be shown? */
int anon_visible(int people, int k);
/* Mean, median and sample variance of a 1..10 score histogram (n > 0). */
double hist_mean(const int h[NSCORES]);
double hist_median(const int h[NSCORES]);
double hist_variance(const int h[NSCORES]);
int hist_count(const int h[NSCORES]);
/* Trend of cur against prev, both already visible. See anonymity.c for
 * the rule that keeps noise from reading as a trend. */
enum trend anon_trend(const int cur[NSCORES], const int prev[NSCORES]);
const char *trend_name(enum trend t);
/* Complementary suppression over n groups shown next to their total:
 * suppressed[i] is set for every group with fewer than k people. Returns
 * whether the total may be shown: only when it rests on k people and the
 * total minus the shown groups (= the hidden ones) is 0 or at least k
 * people, so no subtraction reveals a small group. */
int anon_complement(const int *people, int n, int k, int *suppressed);
/* The same rule when the groups shown are already decided (shown[i]): may a
 * total over all n groups be shown next to them? */
int anon_total_visible(const int *people, const int *shown, int n, int k);

#endif
