/* log.c - process log: every line is a JSON object on stderr.
 *
 * A line shorter than 8 KiB goes out with a single write(2), so lines from
 * different threads do not interleave (on a pipe POSIX promises that only
 * up to PIPE_BUF, 4 KiB on Linux); a longer one (an access log line with
 * a huge path) takes two writes and may. log_info/warn/error cut the
 * message at 1023 bytes and escape it with jansson, so that a value from
 * a request can never forge a log field. Write errors are ignored: there
 * is nowhere to report them. */
#include "core/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_quiet;

void log_set_quiet(int quiet)
{
    log_quiet = quiet;
}

void log_line(const char *json)
{
    size_t n = strlen(json);
    char buf[8192];
    if (n + 1 < sizeof(buf)) {
        memcpy(buf, json, n);
        buf[n] = '\n';
        if (write(STDERR_FILENO, buf, n + 1) < 0)
            return;
    } else {
        if (write(STDERR_FILENO, json, n) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
            return;
    }
}

static void log_emit(const char *level, const char *fmt, va_list ap)
{
    char msg[1024], ts[32];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level, "msg", msg);
    if (!o)
        return;
    char *s = json_dumps(o, JSON_COMPACT);
    if (s)
        log_line(s);
    free(s);
    json_decref(o);
}

#define LOG_FN(name, level, gated)                                                                 \
    void name(const char *fmt, ...)                                                                \
    {                                                                                              \
        if (gated && log_quiet)                                                                    \
            return;                                                                                \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_emit(level, fmt, ap);                                                                  \
        va_end(ap);                                                                                \
    }

LOG_FN(log_info, "info", 1)
LOG_FN(log_warn, "warn", 0)
LOG_FN(log_error, "error", 0)
