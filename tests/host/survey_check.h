/*
 * tests/host/survey_check.h - what the host tests do around one survey: run it
 * on a tree, look a device up, and read the ACS bits the oracle (the real
 * `lspci -vvv -F` on the same dump) printed.
 *
 * Header-only, beside tree.h, because each test file is its own executable; every
 * helper fails the test rather than returning an error.
 */
#ifndef PCIVIRT_TESTS_HOST_SURVEY_CHECK_H
#define PCIVIRT_TESTS_HOST_SURVEY_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "host/survey.h"
#include "tree.h"

/* The survey of tree @t (fails the test if the survey does). */
static struct host_survey *
survey_tree(const struct tree *t)
{
    struct host_survey_options o = {t->root, NULL};
    struct host_survey *s = NULL;
    struct pcivirt_error err;

    pcivirt_error_clear(&err);
    if (host_survey_run(&o, &s, &err) != 0) {
        fail_msg("survey failed: %s", err.message);
    }
    return s;
}

/* The surveyed device @bdf ("0000:03:00.0"; fails the test if there is none). */
static const struct host_device *
survey_find(const struct host_survey *s, const char *bdf)
{
    for (size_t i = 0; i < host_survey_count(s); i++) {
        if (strcmp(host_survey_device(s, i)->bdf, bdf) == 0) {
            return host_survey_device(s, i);
        }
    }
    fail_msg("%s not surveyed", bdf);
    return NULL;
}

/* ACS bits of an lspci "ACSCap:" / "ACSCtl:" line, in register order (device-model.md 2.2);
 * 0 when lspci printed no such line. */
static uint16_t
lspci_acs_bits(const char *text, const char *label)
{
    static const char *const names[] = {"SrcValid",    "TransBlk",   "ReqRedir",   "CmpltRedir",
                                        "UpstreamFwd", "EgressCtrl", "DirectTrans"};
    const char *line = strstr(text, label);
    char buf[256], tok[32];
    uint16_t bits = 0;

    if (line == NULL) {
        return 0;
    }
    snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(line, "\n"), line);
    for (unsigned i = 0; i < 7; i++) {
        snprintf(tok, sizeof(tok), "%s+", names[i]);
        if (strstr(buf, tok) != NULL) {
            bits |= (uint16_t)(1u << i);
        }
    }
    return bits;
}

#endif /* PCIVIRT_TESTS_HOST_SURVEY_CHECK_H */
