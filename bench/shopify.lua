-- wrk script: one signed Shopify orders/paid delivery, a unique X-Shopify-Webhook-Id per request.
-- Shopify's HMAC covers the body only, so one signature serves every request.
-- Arguments (after --): run-id, body file, signature, [limit: exit after this many responses; use one thread]
local counter, responses, failed, limit = 0, 0, 0, 0
local run, tid = "run", 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  run = args[1]
  local f = assert(io.open(args[2], "rb"))
  wrk.body = f:read("*a")
  f:close()
  limit = tonumber(args[4] or "0")
  wrk.method = "POST"
  wrk.path = "/webhooks/shopify"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Shopify-Topic"] = "orders/paid"
  wrk.headers["X-Shopify-Shop-Domain"] = "demo-cafe.myshopify.com"
  wrk.headers["X-Shopify-Hmac-Sha256"] = args[3]
  wrk.headers["X-Shopify-Triggered-At"] = "2026-06-01T14:00:00Z"
  wrk.headers["X-Shopify-API-Version"] = "2025-07"
  if limit == 0 then response = nil end  -- wrk skips parsing responses when there is no response()
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", run, tid, counter)
  wrk.headers["X-Shopify-Webhook-Id"] = id
  wrk.headers["X-Shopify-Event-Id"] = "evt-" .. id
  return wrk.format()
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then failed = failed + 1 end
  if responses >= limit then
    -- wrk would sleep out its whole duration after thread:stop(): leave at once instead.
    io.write(string.format('WRK {"requests": %d, "status_errors": %d, "errors": 0, "limited": true}\n',
                           responses, failed))
    io.flush()
    os.exit(0)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
