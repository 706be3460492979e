#!/bin/sh
# make demo: with `make run` going, registers a customer and a user through
# Subscriptions' API (as an operator, with var/admin-token) and prints what
# to open and what to type: Product 1's address, the email and login key,
# the admin pages, and a curl line for the Cloud API with the key filled in.
# Each run makes a new customer. Exit 1 if make run is not going.
set -u
cd "$(dirname "$0")/.." || exit 2
. mk/proc.sh

sp=$(proc_port subscriptions); cp=$(proc_port cloud-api); pp=$(proc_port product1)
if [ -z "$sp" ] || ! curl -s -o /dev/null --max-time 2 "http://$HOST:$sp/healthz"; then
    echo "demo: make run is not going; start it in another terminal first: make run" >&2
    exit 1
fi
SUB=http://$HOST:$sp
A="Authorization: Bearer $(cat "$VAR/admin-token")"
n=$(date +%s)

out=$(curl -s -H "$A" -d "name=Demo Co $n" -d plan=payg "$SUB/customers")
id=$(printf '%s' "$out" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[ -n "$id" ] || { echo "demo: registering a customer failed: $out" >&2; exit 1; }
email=ada.$n@demo.example
out=$(curl -s -H "$A" -d "email=$email" "$SUB/customers/$id/users")
key=$(printf '%s' "$out" | sed -n 's/.*"login_key":"\([^"]*\)".*/\1/p')
[ -n "$key" ] || { echo "demo: adding a user failed: $out" >&2; exit 1; }

cat <<MSG
Registered the customer "Demo Co $n" ($id) on the pay-as-you-go plan, and its
user $email. The login key is shown once, here:

  email      $email
  login key  $key

1. Product 1: open http://$HOST:$pp/ and sign in with the email and login key
   above; run an analysis.
2. The Cloud API takes the same key (Subscriptions' feed brought it there):
     curl -H "Authorization: Bearer $key" --data-binary 'hello world' http://$HOST:$cp/api/v1/analyze
3. Subscriptions, as an operator: open http://$HOST:$sp/login and paste the admin
   token from $VAR/admin-token; the customer is at http://$HOST:$sp/customers/$id
   (its balance falls as the usage arrives, every 10 s).
4. The customer portal: http://$HOST:$sp/portal/login with the same email and key.
5. The system: http://$HOST:$sp/system; stop one process with
   mk/ctl.sh stop cloud-api-follow, watch, then mk/ctl.sh start cloud-api-follow.
MSG
