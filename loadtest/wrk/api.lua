-- wrk script for loadtest/http.sh: POSTs one AWS JSON 1.0 Step Functions operation and counts
-- the answers that are not what a success looks like. Environment:
--   SJ_TARGET   the operation (StartSyncExecution or ListStateMachines)
--   SJ_BODY     the request body (JSON text)
--   SJ_EXPECT   a string every good answer's body holds ("status":"SUCCEEDED" for an execution)
-- An answer is an error when its status is not 200 or its body lacks SJ_EXPECT; done() prints
-- "bad N" (wrk itself counts socket errors and non-2xx/3xx statuses).
local target = os.getenv("SJ_TARGET")
local body = os.getenv("SJ_BODY") or "{}"
local expect = os.getenv("SJ_EXPECT") or ""

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/x-amz-json-1.0"
wrk.headers["X-Amz-Target"] = "AWSStepFunctions." .. target

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  first_bad = nil
end

function response(status, headers, text)
  if status ~= 200 or not string.find(text, expect, 1, true) then
    bad = bad + 1
    if first_bad == nil then
      first_bad = status .. " " .. string.sub(text, 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total = 0
  local sample = nil
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    sample = sample or t:get("first_bad")
  end
  io.write(string.format("bad %d\n", total))
  if sample then
    io.write("first bad answer: " .. sample .. "\n")
  end
  io.write(string.format("p50_us %d p99_us %d\n", latency:percentile(50), latency:percentile(99)))
end
