/* notify_text.h - what a notification says, per kind and language.
 *
 * Return convention: each returns a static string, never NULL (an unknown
 * language falls back to Dutch). */
#ifndef REFLECTD_NOTIFY_TEXT_H
#define REFLECTD_NOTIFY_TEXT_H

/* The push text for kind (feedback_received, reminder_checkin, ...) in
 * locale ("nl", "en"; anything else: Dutch). Never NULL. */
const char *notify_text(const char *kind, const char *locale);
/* The title every push and digest carries. */
const char *notify_title(const char *locale);
/* A digest's subject and closing line. */
const char *notify_digest_subject(const char *locale);
const char *notify_digest_footer(const char *locale);
/* An invitation's subject, its opening line (before the link) and the
 * words before its expiry ("... valid until" 2025-03-14 10:00 (zone).). */
const char *notify_invitation_subject(const char *locale);
const char *notify_invitation_intro(const char *locale);
const char *notify_invitation_expiry(const char *locale);

#endif
