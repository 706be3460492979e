#!/bin/sh
# render.sh TEMPLATE - print TEMPLATE with every ${FEEDS_NAME_OF_VALUE}
# placeholder replaced by that environment variable's value.
#
#   FEEDS_NAME=subscriptions FEEDS_ORIGIN=127.0.0.1:8081 ... \
#       sh deploy/render.sh deploy/nginx/feeds.conf >/etc/nginx/conf.d/feeds-subscriptions.conf
#
# Only placeholders of the form ${FEEDS_...} are touched, so nginx's own
# $variables and VCL pass through unchanged. A placeholder whose variable is
# unset or empty is an error (exit 2, naming it), so a half-filled
# configuration is never printed. deploy/README.md lists the variables.
set -u
[ $# -eq 1 ] && [ -r "$1" ] || { echo "usage: render.sh TEMPLATE" >&2; exit 2; }
awk '
{
    out = ""
    line = $0
    while (match(line, /\$\{FEEDS_[A-Z0-9_]+\}/)) {
        name = substr(line, RSTART + 2, RLENGTH - 3)
        if (!(name in ENVIRON) || ENVIRON[name] == "") {
            printf "render.sh: %s is not set (line %d of %s)\n", name, NR, FILENAME > "/dev/stderr"
            failed = 1
            exit 2
        }
        out = out substr(line, 1, RSTART - 1) ENVIRON[name]
        line = substr(line, RSTART + RLENGTH)
    }
    text = text out line "\n"
}
END { if (!failed) printf "%s", text }
' "$1"
