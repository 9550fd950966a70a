/* anonymity.h - what a reader may see of a published month, as pure functions. */
#ifndef REFLECTD_ANONYMITY_H
#define REFLECTD_ANONYMITY_H

#include "core/vermogens.h"

#define NSCORES    10
#define NSTATUSES  4 /* goals: open, active, achieved, dropped */
#define ANON_MIN_K 3

/* The blocks of a month, each resting on its own distinct people. */
enum block { BLOCK_CHECKINS, BLOCK_REFLECTIONS, BLOCK_FEEDBACK, BLOCK_GOALS, BLOCK_TEXTS, NBLOCKS };

/* One row of published_figures (a team's month, or the organisation
 * total's) as read back. A block's figures exist only when stored[b]: the
 * publication left out whatever k suppressed then. */
struct published {
    int present;         /* there is a row (a team made later has none) */
    int k;               /* k at publication */
    int people[NBLOCKS]; /* distinct counted people */
    int stored[NBLOCKS]; /* figures kept at publication */
    int hidden[NBLOCKS]; /* totals: distinct people in the teams hidden at publication */
    int hist[NVERMOGENS][NSCORES];
    int by_vermogen[NVERMOGENS]; /* people per vermogen */
    int tops, tips;
    int goals[NSTATUSES]; /* people per status */
};

/* Who is reading: the organisation's k now, and whether the reader has a
 * contribution of their own in the month (they would know it, and could
 * subtract it). */
struct reader {
    int k;
    int contributed;
};

enum trend { TREND_NONE = -1, TREND_EQUAL, TREND_UP, TREND_DOWN };

/* k as enforced: never below ANON_MIN_K, whatever is configured. */
int anon_k(int configured);
/* The people a block needs for this reader: the larger of the k at
 * publication and the k now, plus one when the reader contributed. */
int anon_needed(const struct published *p, const struct reader *rd);
/* May rd see block b of p? Never a block of a month whose check-ins are
 * hidden. */
int anon_block_shown(const struct published *p, enum block b, const struct reader *rd);
/* May rd see block b of an organisation total next to its n teams (read by
 * team_readers[i])? Also requires the remainder hidden at publication to be
 * nobody or enough people, and every team block shown at publication to be
 * shown still: a team hidden since (a higher k, a reader who contributed)
 * would otherwise be the total minus the teams shown. */
int anon_total_block_shown(const struct published *total, const struct published *teams,
                           const struct reader *team_readers, int n, enum block b,
                           const struct reader *rd);
/* May a vermogen's figures show? Not when every answer is the same
 * score: then everyone's score is known. */
int anon_distribution_shown(const int h[NSCORES]);
/* Mean, median and sample variance of a 1..10 score histogram (n > 0). */
double hist_mean(const int h[NSCORES]);
double hist_median(const int h[NSCORES]);
double hist_variance(const int h[NSCORES]);
int hist_count(const int h[NSCORES]);
/* Trend of cur against prev, both shown. See anonymity.c for the rule
 * that keeps noise from reading as a trend. */
enum trend anon_trend(const int cur[NSCORES], const int prev[NSCORES]);
const char *trend_name(enum trend t);

#endif
