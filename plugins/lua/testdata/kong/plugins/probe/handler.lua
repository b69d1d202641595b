-- probe runs the Lua code of the request's X-Probe header (test only) and
-- answers with its results as JSON: {"r": {...}}.
local Probe = { PRIORITY = 10, VERSION = "1.0.0" }

local function run(phase)
  local code = kong.request.get_header("X-Probe-" .. phase)
  if not code then
    return
  end
  local fn = assert(loadstring(code))
  local res = { pcall(fn) }
  if not res[1] then
    return kong.response.exit(599, { err = tostring(res[2]) })
  end
  table.remove(res, 1)
  kong.ctx.shared.result = res
end

function Probe:access(conf)
  run("access")
  if kong.ctx.shared.result and kong.request.get_header("X-Probe-Exit") then
    return kong.response.exit(200, { r = kong.ctx.shared.result })
  end
end

function Probe:header_filter(conf)
  run("header")
  if kong.ctx.shared.result then
    kong.response.set_header("X-Result", require("cjson").encode(kong.ctx.shared.result))
  end
end

return Probe
