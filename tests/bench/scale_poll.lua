-- scale_poll.lua - wrk script for bench_scale.sh: each connection is a
-- poller of one feed, as a follower in --poll-interval mode is. It asks
-- for the head with the ETag it last saw in If-None-Match (so an unchanged
-- head is a 304), and every 20th request fetches an archive page (0 or 1),
-- as a follower catching up does.
--
--   wrk -c 1000 -d 10s -s scale_poll.lua URL -- FEED_PATH TOKEN
--
-- At the end it prints the status classes wrk does not show.
local feed, token
local etag = nil
local n = 0
local statuses = {}
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    feed = args[1] or "/feeds/subscriptions"
    token = args[2] or ""
    counts = {}
end

function request()
    n = n + 1
    local headers = { ["Accept"] = "application/atom+xml" }
    if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
    end
    if n % 20 == 0 then
        return wrk.format("GET", feed .. "/pages/" .. (math.floor(n / 20) % 2), headers)
    end
    if etag then
        headers["If-None-Match"] = etag
    end
    return wrk.format("GET", feed, headers)
end

function response(status, headers, body)
    counts[status] = (counts[status] or 0) + 1
    -- Only the head's ETag is kept (its Link header names it as "self").
    local link = headers["Link"] or ""
    if status == 200 and string.find(link, "<" .. feed .. '>; rel="self"', 1, true) then
        etag = headers["ETag"]
    end
end

function done(summary, latency, requests)
    local total = {}
    for _, t in ipairs(threads) do
        local c = t:get("counts")
        for k, v in pairs(c) do
            total[k] = (total[k] or 0) + v
        end
    end
    local parts = {}
    for k, v in pairs(total) do
        table.insert(parts, "status_" .. k .. "=" .. v)
    end
    table.sort(parts)
    io.write("statuses " .. table.concat(parts, " ") .. "\n")
end
