#include "sign_in.h"

#include "log.h"
#include "sessions.h"

#include <string.h>

enum sign_in_result sign_in(sqlite3 *db, struct key_vault *vault, const char *email,
                            const char *key, unsigned lifetime, struct user_ref *user,
                            char session_id[SHA256_HEX_SIZE])
{
    char sha[SHA256_HEX_SIZE], hash[SHA256_HEX_SIZE];
    enum sign_in_result result = SIGN_IN_ERROR;
    size_t key_len = strlen(key);

    memset(user, 0, sizeof *user);
    session_id[0] = '\0';
    if (key_len == 0 || key_len > LOGIN_KEY_MAX || !email[0])
        return SIGN_IN_WRONG_PAIR;
    if (sha256_hex(key, key_len, sha) != 0)
        return SIGN_IN_ERROR;
    switch (directory_find(db, email, sha, user)) {
    case DIRECTORY_OK:
        break;
    case DIRECTORY_NO_MATCH:
        result = SIGN_IN_WRONG_PAIR;
        goto fail;
    case DIRECTORY_REVOKED:
        /* For the operator only: the caller is told what a wrong key gets. */
        log_info("revoked key presented", "key=%s", user->key_id ? user->key_id : "-");
        result = SIGN_IN_WRONG_PAIR;
        goto fail;
    case DIRECTORY_LOCKED:
        result = SIGN_IN_LOCKED;
        goto fail;
    case DIRECTORY_ERROR:
    default:
        goto fail;
    }
    if (session_create(db, user, lifetime, session_id, hash) != 0)
        goto fail;
    vault_put(vault, hash, user->customer_id, user->user_id, key);
    log_info("signed in", "customer=%s user=%s key=%s", user->customer_id, user->user_id,
             user->key_id);
    return SIGN_IN_OK;
fail:
    if (result != SIGN_IN_ERROR)
        log_info("sign-in refused", "reason=\"%s\"", sign_in_message(result));
    user_ref_release(user);
    session_id[0] = '\0';
    return result;
}

const char *sign_in_message(enum sign_in_result r)
{
    switch (r) {
    case SIGN_IN_OK:
        return "signed in";
    case SIGN_IN_WRONG_PAIR:
        return "this email and login key do not match: check both";
    case SIGN_IN_LOCKED:
        return "your company's account is locked: ask your administrator";
    case SIGN_IN_ERROR:
    default:
        return "signing in failed on our side: try again in a moment";
    }
}
