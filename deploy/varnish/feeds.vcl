vcl 4.1;
# deploy/varnish/feeds.vcl - Varnish 7.1 (Debian 12's varnish) in front of
# ONE context's feeds: the same rules as deploy/nginx/feeds.conf.
#
# A template: deploy/render.sh fills in the FEEDS_ORIGIN_HOST and
# FEEDS_ORIGIN_PORT placeholders (deploy/README.md). Varnish speaks plain HTTP only:
# terminate TLS in front of it (nginx with deploy/nginx/feeds.conf, or
# hitch). Run one varnishd per context, e.g.
#   varnishd -a :6081 -f /etc/varnish/feeds-subscriptions.vcl -s malloc,1g
#
# What it does (tested by tests/integration/test_deploy_varnish.sh):
#   - archive pages (/feeds/NAME/pages/N) are kept for a year;
#   - the head (/feeds/NAME) is kept at most 1 s, then revalidated at the
#     origin with If-None-Match (beresp.keep); a poller's own If-None-Match
#     is answered 304 by Varnish;
#   - long-polls (Prefer: wait=N) are passed to the origin with their
#     If-None-Match and held there;
#   - Authorization is part of the hash: a response is only ever served
#     again to a request presenting the very token that fetched it, so a
#     protected page never reaches a request without a valid token (the
#     built-in VCL would pass every request with Authorization instead, and
#     cache nothing of a protected feed). Accept and Accept-Encoding are in
#     the hash too, so representations and encodings are kept apart;
#   - only 200 answers are stored; a 404 (a page not full yet), a 401 and
#     every error go through and are never kept;
#   - everything else (/healthz, /status, /metrics, the APIs) is passed.

import std;

backend origin {
    .host = "${FEEDS_ORIGIN_HOST}";
    .port = "${FEEDS_ORIGIN_PORT}";
    .connect_timeout = 2s;
    # Long-polls answer within 30 s (the origin caps Prefer: wait at 30).
    .first_byte_timeout = 45s;
    .between_bytes_timeout = 45s;
}

sub vcl_recv {
    # The built-in host and method rules, but not its "pass anything with
    # Authorization": the token is part of the hash instead (vcl_hash).
    call vcl_req_host;
    call vcl_req_method;
    if (req.url !~ "^/feeds/[^/?]+(/pages/[0-9]+)?(\?.*)?$") {
        return (pass);
    }
    if (req.http.Prefer ~ "(?i)(^|[\s,;])wait\s*=") {
        # A long-poll: to the origin as it is, If-None-Match included.
        return (pass);
    }
    # gzip or identity, as the client takes it (q=0 refuses it): the
    # header is reduced to one of the two, which is hashed and asked of
    # the origin (vcl_backend_fetch).
    if (req.http.Accept-Encoding ~ "(?i)(^|[\s,])gzip(\s*;\s*q=(1|0\.0*[1-9][0-9]*)[^,]*)?\s*(,|$)") {
        set req.http.Accept-Encoding = "gzip";
        set req.http.X-Feeds-Gzip = "1";
    } else {
        unset req.http.Accept-Encoding;
        unset req.http.X-Feeds-Gzip;
    }
    return (hash);
}

sub vcl_hash {
    hash_data(req.url);
    if (req.http.host) {
        hash_data(req.http.host);
    } else {
        hash_data(server.ip);
    }
    hash_data("auth:" + req.http.Authorization);
    hash_data("accept:" + req.http.Accept);
    hash_data("gzip:" + req.http.X-Feeds-Gzip);
    return (lookup);
}

sub vcl_backend_fetch {
    # Varnish asks for gzip on every fetch and would gunzip for a client
    # that does not take it (weakening the origin's ETag): ask for what the
    # client takes instead, so each encoding keeps the origin's strong ETag.
    if (bereq.http.X-Feeds-Gzip) {
        set bereq.http.Accept-Encoding = "gzip";
    } else if (!bereq.uncacheable) {
        unset bereq.http.Accept-Encoding;
    }
    unset bereq.http.X-Feeds-Gzip;
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status != 200 && beresp.status != 304) {
        # 404 (a page not full yet), 401, errors: never kept.
        set beresp.ttl = 0s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (bereq.url ~ "^/feeds/[^/?]+/pages/[0-9]+") {
        # A full page never changes. The origin may say "private" for a
        # protected feed: the token is in the hash, so it is kept anyway.
        set beresp.ttl = 365d;
        set beresp.grace = 0s;
    } else {
        # The head: at most 1 s, then a conditional fetch (If-None-Match
        # from the kept copy) while keep lasts.
        set beresp.ttl = 1s;
        set beresp.grace = 0s;
        set beresp.keep = 1h;
    }
    return (deliver);
}

sub vcl_deliver {
    if (obj.uncacheable) {
        set resp.http.X-Cache-Status = "PASS";
    } else if (obj.hits > 0) {
        set resp.http.X-Cache-Status = "HIT";
    } else {
        set resp.http.X-Cache-Status = "MISS";
    }
}
