#include "sign_in.h"

#include "log.h"
#include "secrets.h"
#include "users.h"

#include <stdio.h>
#include <string.h>

int sign_in_token_fit(const char *token, char *why, size_t why_size)
{
    size_t len = strlen(token);

    if (len < ADMIN_TOKEN_MIN || len > ADMIN_TOKEN_MAX) {
        snprintf(why, why_size, "an admin token has %d to %d characters (make run makes one of 48)",
                 ADMIN_TOKEN_MIN, ADMIN_TOKEN_MAX);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)token[i];
        if (c <= 0x20 || c >= 0x7f) {
            snprintf(why, why_size,
                     "an admin token is made of visible ASCII characters (no spaces), so that it "
                     "fits in an Authorization header");
            return -1;
        }
    }
    return 0;
}

int sign_in_token_index(const char *const *tokens, size_t ntokens, const char *presented)
{
    size_t len;
    int found = -1;

    if (!presented)
        return -1;
    len = strlen(presented);
    if (len == 0 || len > ADMIN_TOKEN_MAX)
        return -1;
    for (size_t i = 0; i < ntokens; i++)
        if (secret_equal(tokens[i], strlen(tokens[i]), presented, len) && found < 0)
            found = (int)i;
    return found;
}

enum sub_result sign_in_portal(sqlite3 *db, const char *email, const char *login_key,
                               struct portal_user *out, char *why, size_t why_size)
{
    static const char WRONG[] = "this email and login key do not match a current user with a "
                                "valid key: check both, or ask your administrator for a new key";
    char sha[SHA256_HEX_SIZE];
    sqlite3_stmt *st = NULL;
    enum sub_result r = SUB_ERROR;
    int rc;

    memset(out, 0, sizeof *out);
    if (!email || !*email || strlen(email) > EMAIL_MAX || !login_key || !*login_key ||
        strlen(login_key) > 2 * LOGIN_KEY_SIZE)
        return sub_fail(SUB_UNAUTHENTICATED, why, why_size, "%s", WRONG);
    if (sha256_hex(login_key, strlen(login_key), sha) != 0)
        goto out;
    if (sqlite3_prepare_v2(db,
                           "SELECT u.customer_id, u.id, k.id FROM login_keys k"
                           " JOIN users u ON u.id = k.user_id AND u.customer_id = k.customer_id"
                           " WHERE k.key_sha256 = ?1 AND k.revoked_at IS NULL"
                           " AND u.removed_at IS NULL AND u.email = ?2 COLLATE NOCASE LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        r = sub_fail(SUB_UNAUTHENTICATED, why, why_size, "%s", WRONG);
        goto out;
    }
    if (rc != SQLITE_ROW)
        goto out;
    snprintf(out->customer_id, sizeof out->customer_id, "%s",
             (const char *)sqlite3_column_text(st, 0));
    snprintf(out->user_id, sizeof out->user_id, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(out->key_id, sizeof out->key_id, "%s", (const char *)sqlite3_column_text(st, 2));
    r = SUB_OK;
out:
    if (r == SUB_ERROR) {
        log_error("portal sign-in failed", "error=\"%s\"", sqlite3_errmsg(db));
        sub_fail(r, why, why_size, "signing in failed on our side: try again in a moment");
    }
    sqlite3_finalize(st);
    memset(sha, 0, sizeof sha);
    return r;
}
