# system.sh - start the whole system for end-to-end tests: the three
# contexts and their followers on free loopback ports, with temporary
# databases and a feed token, exactly as `make run` wires them. Source it
# after lib.sh.
#
#   start_system [USAGE_WINDOW]   sets SUB, API, P1 (base URLs) and TOKEN
#   start_ctx NAME / stop NAME    start or stop one process of the system
#   new_customer NAME [PLAN] [CREDIT_LIMIT]   prints the customer id
#   new_user CUSTOMER EMAIL       sets USER_ID, KEY_ID, KEY
#   analyze KEY TEXT              prints the HTTP status; body in $T/body

SYS_WINDOW=2

# The command line of each process of the system, by name.
ctx_cmd() {
    case "$1" in
    subscriptions) echo "bin/subscriptions serve --listen 127.0.0.1:$SUB_PORT --db $T/subscriptions.db --feed-token $TOKEN" ;;
    cloud-api) echo "bin/cloud-api serve --listen 127.0.0.1:$API_PORT --db $T/cloud-api.db --feed-token $TOKEN --usage-window $SYS_WINDOW --node node-1" ;;
    product1) echo "bin/product1 serve --listen 127.0.0.1:$P1_PORT --db $T/product1.db --cloud-api $API --feed-token $TOKEN" ;;
    subscriptions-follow) echo "bin/subscriptions follow --db $T/subscriptions.db --feed $API/feeds/usage --token $TOKEN" ;;
    cloud-api-follow) echo "bin/cloud-api follow --db $T/cloud-api.db --feed $SUB/feeds/subscriptions --token $TOKEN" ;;
    product1-follow) echo "bin/product1 follow --db $T/product1.db --feed $SUB/feeds/subscriptions --token $TOKEN" ;;
    esac
}

# start_ctx NAME: starts one process and, for a server, waits until it answers.
start_ctx() {
    # shellcheck disable=SC2046
    start "$1" $(ctx_cmd "$1")
    case "$1" in
    subscriptions) wait_http "$SUB/healthz" ;;
    cloud-api) wait_http "$API/healthz" ;;
    product1) wait_http "$P1/healthz" ;;
    esac
}

start_system() {
    SYS_WINDOW=${1:-2}
    SUB_PORT=$(free_port); API_PORT=$(free_port); P1_PORT=$(free_port)
    SUB=http://127.0.0.1:$SUB_PORT
    API=http://127.0.0.1:$API_PORT
    P1=http://127.0.0.1:$P1_PORT
    TOKEN=token-$$-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
    for p in subscriptions cloud-api product1 subscriptions-follow cloud-api-follow product1-follow; do
        start_ctx "$p" || return 1
    done
}

new_customer() {
    args="-d name=$1"
    [ -z "${2:-}" ] || args="$args -d plan=$2"
    [ -z "${3:-}" ] || args="$args -d credit_limit_cents=$3"
    # shellcheck disable=SC2086
    status=$(http POST "$SUB/customers" $args)
    [ "$status" = 201 ] || { echo "# new_customer: HTTP $status $(cat "$T/body")" >&2; return 1; }
    json '$.id'
}

new_user() {
    status=$(http POST "$SUB/customers/$1/users" -d "email=$2")
    [ "$status" = 201 ] || { echo "# new_user: HTTP $status $(cat "$T/body")" >&2; return 1; }
    USER_ID=$(json '$.user_id'); KEY_ID=$(json '$.key_id'); KEY=$(json '$.login_key')
}

analyze() {
    a_status=$(http POST "$API/api/v1/analyze" -H "Authorization: Bearer $1" --data-binary "$2")
    # Every unit the API reports as served is logged, to reconcile with charges.
    [ "$a_status" != 200 ] || echo "$1 $(json '$.units')" >>"$T/served"
    echo "$a_status"
}

# served_units KEY: units of every 200 answer to KEY so far.
served_units() {
    awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }' "$T/served" 2>/dev/null || echo 0
}

# analyze_is STATUS KEY: succeeds when a call with KEY gets STATUS.
analyze_is() { [ "$(analyze "$2" "ping")" = "$1" ]; }

# customer_field ID PATH: a field of GET /customers/ID, e.g. '$.balance_cents'.
customer_field() {
    http GET "$SUB/customers/$1" -H 'Accept: application/json' >/dev/null
    json "$2"
}

# balance_is ID CENTS: succeeds when the customer's balance is CENTS.
balance_is() { [ "$(customer_field "$1" '$.balance_cents')" = "$2" ]; }

# login_is STATUS EMAIL KEY: succeeds when signing in to Product 1 gets STATUS.
login_is() {
    [ "$(http POST "$P1/login" --data-urlencode "email=$2" --data-urlencode "login_key=$3")" = "$1" ]
}

# login_refused EMAIL KEY: succeeds when Product 1 does not sign them in.
login_refused() {
    s=$(http POST "$P1/login" --data-urlencode "email=$1" --data-urlencode "login_key=$2")
    [ "$s" = 401 ] || [ "$s" = 403 ]
}

# status_is ID STATUS: succeeds when the customer's status is STATUS.
status_is() { [ "$(customer_field "$1" '$.status')" = "$2" ]; }
