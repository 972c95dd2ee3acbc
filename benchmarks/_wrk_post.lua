-- wrk script: POST one JSON body per request from a file of lines, each thread
-- taking its own lines (a solved captcha is single use). Prints a JSON summary.
local threads = {}
local nthreads = 1

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  path, target, nthreads = args[1], args[2], tonumber(args[3])
  bodies = {}
  for line in io.lines(path) do bodies[#bodies + 1] = line end
  counter = 0
end

function request()
  local index = (id + counter * nthreads) % #bodies + 1
  counter = counter + 1
  return wrk.format("POST", target, {["Content-Type"] = "application/json"}, bodies[index])
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
