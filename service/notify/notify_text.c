/* notify_text.c - the words of pushes, digests and invitation e-mails,
 * Dutch by default.
 *
 * Privacy: a text says only what happened ("Je hebt nieuwe feedback"),
 * never what was written or by whom; it travels through Apple's, Google's
 * and browser vendors' push services and lands on lock screens. */
#include "notify/notify_text.h"

#include <string.h>

struct notify_phrase {
    const char *kind, *nl, *en;
};

static const struct notify_phrase phrases[] = {
    {"feedback_received", "Je hebt nieuwe feedback", "You have new feedback"},
    {"feedback_request_received", "Iemand vraagt je om feedback", "Someone asked you for feedback"},
    {"reflection_shared", "Er is een reflectie met je gedeeld", "A reflection was shared with you"},
    {"reminder_feedback_request", "Een feedbackvraag wacht nog op je antwoord",
     "A feedback request is waiting for your answer"},
    {"reminder_reflection", "Even tijd om te reflecteren? Een korte reflectie na je dienst helpt.",
     "A moment to reflect? A short reflection after your shift helps."},
    {"reminder_goal_due", "De streefdatum van een leerdoel komt eraan",
     "A learning goal's target date is coming up"},
    {"reminder_checkin", "De check-in van deze maand sluit binnenkort",
     "This month's check-in closes soon"},
};

static int notify_english(const char *locale)
{
    return locale && strcmp(locale, "en") == 0;
}

const char *notify_text(const char *kind, const char *locale)
{
    for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
        if (strcmp(phrases[i].kind, kind) == 0)
            return notify_english(locale) ? phrases[i].en : phrases[i].nl;
    return notify_english(locale) ? "Something new for you" : "Er is iets nieuws voor je";
}

const char *notify_title(const char *locale)
{
    return notify_english(locale) ? "Reflection" : "Reflectie";
}

const char *notify_digest_subject(const char *locale)
{
    return notify_english(locale) ? "Your reflection summary" : "Je overzicht van Reflectie";
}

const char *notify_digest_footer(const char *locale)
{
    return notify_english(locale) ? "Open the app to read them." : "Open de app om ze te bekijken.";
}

const char *notify_invitation_subject(const char *locale)
{
    return notify_english(locale) ? "Set your password for Reflection"
                                  : "Stel je wachtwoord in voor Reflectie";
}

const char *notify_invitation_intro(const char *locale)
{
    return notify_english(locale)
               ? "An account in Reflection was made for you. Set your password with this link:"
               : "Er is een account in Reflectie voor je aangemaakt. Stel je wachtwoord in met "
                 "deze link:";
}

const char *notify_invitation_expiry(const char *locale)
{
    return notify_english(locale) ? "The link works once and is valid until"
                                  : "De link werkt één keer en is geldig tot";
}
