/*
 * cloud_client.h - Product 1's calls to the Cloud API (DESIGN.md section 7):
 * POST {base}/api/v1/analyze with the user's login key as a bearer token,
 * and an Idempotency-Key naming the analysis, so that sending it again (a
 * retry, or a resend after a crash between the Cloud API's 200 and the
 * recording of the result) gets the stored answer and is not charged again
 * (for 24 hours after the first 200; see the Cloud API's idempotency.h).
 *
 * Every call has a connect timeout (2 s) and a total timeout (10 s), and
 * reads at most CLOUD_MAX_REPLY bytes of answer. The outcome says what the
 * caller should do with the analysis: record the result, keep it queued and
 * try again later, or mark it failed.
 */
#ifndef PRODUCT1_CLOUD_CLIENT_H
#define PRODUCT1_CLOUD_CLIENT_H

#include <stddef.h>

/* Largest answer read from the Cloud API. */
#define CLOUD_MAX_REPLY (64 * 1024)

enum cloud_outcome {
    CLOUD_DONE,        /* 200: body holds the result JSON */
    CLOUD_UNREACHABLE, /* refused, timed out, 5xx, cut short: try again later */
    CLOUD_REFUSED,     /* 401 or 403: the key is not (or no longer) accepted */
    CLOUD_REJECTED,    /* another answer (such as 413): this text will never succeed */
};

struct cloud_reply {
    enum cloud_outcome outcome;
    long status;     /* HTTP status, 0 when there was no answer */
    char *body;      /* the answer's body, NUL-terminated, never NULL after a call */
    char error[256]; /* a short description for logs and users, "" on CLOUD_DONE */
};

/* Initialises libcurl for the whole process; call once from main() before
 * any thread starts. ca_file (kept, not copied; may be NULL) is the PEM
 * file of the CAs to trust for an https Cloud API instead of the system's.
 * Peer and host name are always verified. Returns 0, or -1. */
int cloud_client_global_init(const char *ca_file);

/*
 * Sends text[0..len) to base_url's analyze route with key, and with
 * "Idempotency-Key: idempotency_key" unless it is NULL (1-128 characters of
 * [A-Za-z0-9._:-], such as an analysis id; the same for every attempt of one
 * piece of work). Always fills *reply (release it with
 * cloud_reply_release()), and returns its outcome. Safe to call from several
 * threads at once.
 */
enum cloud_outcome cloud_analyze(const char *base_url, const char *key, const char *idempotency_key,
                                 const char *text, size_t len, struct cloud_reply *reply);

void cloud_reply_release(struct cloud_reply *reply);

/* Makes every call in progress, and every later one, end at once as
 * CLOUD_UNREACHABLE: for shutting down without waiting out the timeouts.
 * Safe from any thread. */
void cloud_client_cancel_all(void);

#endif
