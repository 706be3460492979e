#!/bin/sh
# make lint: the rules of STYLE.md that the compiler does not check.
#
#  1. No banned function: strcpy, strcat, sprintf, vsprintf, strtok, atoi,
#     atol, gets (curl's checksrc bans the same; use snprintf and strtol).
#  2. A library includes, by quotes, only its own headers and dynbuf's; a
#     context only its own, support's, dynbuf's and the libraries' public
#     headers; dynbuf only its own; no quoted include reaches into another
#     folder.
#  3. The build enforces the same: a header a module must not use is not on
#     its include path. Each probe compiles one #include with the module's
#     own flags and must fail (and succeed with a module that may use it,
#     so the probe itself is known to work).
#  4. The libraries never print: nothing in feed-server/src, feed-reader/src
#     or dynbuf/ writes to stdout or stderr (printf, puts, fputs, perror,
#     fprintf, write(1 or 2, ...), the names stdout, stderr, STDOUT_FILENO,
#     STDERR_FILENO), except inside the documented default log functions
#     fs_log_stderr() and fr_log_stderr(). They hand their lines to the
#     log function of their configuration (docs/logging.md).
#
# Prints each violation as FILE:LINE: WHAT and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.." || exit 2
CC=${CC:-cc}
status=0
report() { echo "$1"; status=1; }

files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')

# 1. banned functions (comments and strings are not told apart: a mention
#    in a comment must use other words).
banned='(^|[^A-Za-z0-9_])(strcpy|strcat|sprintf|vsprintf|strtok|strtok_r|atoi|atol|atoll|gets)[[:space:]]*\('
for f in $files; do
    grep -nE "$banned" "$f" | while IFS= read -r hit; do
        echo "$f:${hit%%:*}: banned function: $(printf '%s' "${hit#*:}" | grep -oE "$banned" | head -1 | tr -d '( ')"
    done
done >"${TMPDIR:-/tmp}/lint.$$"
if [ -s "${TMPDIR:-/tmp}/lint.$$" ]; then cat "${TMPDIR:-/tmp}/lint.$$"; status=1; fi
rm -f "${TMPDIR:-/tmp}/lint.$$"

# 2. quoted includes
for f in $files; do
    dir=$(dirname "$f")
    case "$f" in
    dynbuf/*) allowed="dynbuf" ;;
    feed-server/*) allowed="feed-server/src feed-server/include dynbuf" ;;
    feed-reader/*) allowed="feed-reader/src feed-reader/include dynbuf" ;;
    contexts/*) allowed="$dir contexts/support feed-server/include feed-reader/include dynbuf" ;;
    *) continue ;;
    esac
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | while IFS= read -r hit; do
        line=${hit%%:*}
        name=$(printf '%s' "$hit" | sed -E 's/.*include[[:space:]]*"([^"]*)".*/\1/')
        case "$name" in
        */*) echo "$f:$line: include \"$name\" reaches into another folder"; continue ;;
        esac
        found=""
        for a in $allowed; do [ -f "$a/$name" ] && found=$a; done
        [ -n "$found" ] || echo "$f:$line: include \"$name\" is not a header this module may use"
    done
done >"${TMPDIR:-/tmp}/lint.$$"
if [ -s "${TMPDIR:-/tmp}/lint.$$" ]; then cat "${TMPDIR:-/tmp}/lint.$$"; status=1; fi
rm -f "${TMPDIR:-/tmp}/lint.$$"

# 4. libraries that print (comments are not told apart here either: a
#    comment says "standard error" instead)
printing='(^|[^A-Za-z0-9_])((v?f?|d)printf|puts|fputs|putchar|perror)[[:space:]]*\\(|(^|[^A-Za-z0-9_])write[[:space:]]*\\([[:space:]]*[12][[:space:]]*,|(^|[^A-Za-z0-9_])(stdout|stderr|STDOUT_FILENO|STDERR_FILENO)([^A-Za-z0-9_]|$)'
for f in $files; do
    case "$f" in
    feed-server/src/*|feed-reader/src/*|dynbuf/*) ;;
    *) continue ;;
    esac
    awk -v file="$f" -v re="$printing" '
        /^[a-z].*[ *](fs|fr)_log_stderr\(/ { inside = 1 }
        !inside && $0 ~ re { printf "%s:%d: a library prints: %s\n", file, NR, $0 }
        inside && /^}/ { inside = 0 }
    ' "$f"
done >"${TMPDIR:-/tmp}/lint.$$"
if [ -s "${TMPDIR:-/tmp}/lint.$$" ]; then cat "${TMPDIR:-/tmp}/lint.$$"; status=1; fi
rm -f "${TMPDIR:-/tmp}/lint.$$"

# 3. the build's include paths, probed
probe() { # FLAGS HEADER: succeeds when HEADER compiles with FLAGS
    # shellcheck disable=SC2086
    printf '#include "%s"\n' "$2" | $CC -std=c11 -D_GNU_SOURCE ${DEPS_CFLAGS:-} $1 -fsyntax-only -x c - 2>/dev/null
}
must_not() { # WHO FLAGS HEADER
    if probe "$2" "$3"; then report "build: $1 can include $3; its include path is too wide"; fi
}
must() { # WHO FLAGS HEADER
    probe "$2" "$3" || report "build: $1 cannot include $3 (is the probe broken?)"
}
if [ -n "${FS_INCLUDES:-}" ] && [ -n "${FR_INCLUDES:-}" ] && [ -n "${CONTEXT_INCLUDES:-}" ] &&
    [ -n "${DYNBUF_INCLUDES:-}" ]; then
    must "a context" "$CONTEXT_INCLUDES" program.h
    must "a context" "$CONTEXT_INCLUDES" feedserver.h
    must "a context" "$CONTEXT_INCLUDES" dynbuf.h
    must feed-server "$FS_INCLUDES" dynbuf.h
    must feed-reader "$FR_INCLUDES" dynbuf.h
    must_not feed-server "$FS_INCLUDES" program.h
    must_not feed-server "$FS_INCLUDES" feedreader.h
    must_not feed-reader "$FR_INCLUDES" program.h
    must_not feed-reader "$FR_INCLUDES" feedserver.h
    must_not dynbuf "$DYNBUF_INCLUDES" feedserver.h
    must_not dynbuf "$DYNBUF_INCLUDES" feedreader.h
    must_not dynbuf "$DYNBUF_INCLUDES" program.h
    for c in contexts/*/; do
        c=${c%/}
        [ "$c" != contexts/support ] || continue
        must_not "contexts other than $(basename "$c")" "$CONTEXT_INCLUDES" "$(ls "$c" | grep '\.h$' | grep -v -e '^schema.h$' | head -1)"
    done
else
    echo "lint: run through 'make lint' to probe the include paths" >&2
    status=1
fi

[ $status -eq 0 ] && echo "lint: clean"
exit $status
