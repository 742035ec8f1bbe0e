-- Replays pre-signed callbacks from $BENCH_REQUESTS (one "path<TAB>body" a line), each thread its own share,
-- so no two requests of a run share a dedup key.
local lines = {}
local index, step = 0, 1
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local tab = line:find("\t", 1, true)
    lines[#lines + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
  index = tid
end

function request()
  local item = lines[(index % #lines) + 1]
  index = index + step
  return wrk.format("POST", item[1], { ["Content-Type"] = "text/xml" }, item[2])
end

