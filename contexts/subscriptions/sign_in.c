#include "sign_in.h"

#include "secrets.h"

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
