/* log.h - one-line JSON logs to stderr.
 *
 * Return convention: none; logging never fails the caller (a lost line is
 * lost). */
#ifndef REFLECTD_LOG_H
#define REFLECTD_LOG_H

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes a complete line (already JSON) to the log, atomically. */
void log_line(const char *json);
void log_set_quiet(int quiet);

#endif
