-- misbehave fails on purpose, as the request's X-Mode asks.
local H = { PRIORITY = 5, VERSION = "1.0.0" }
function H:access(conf)
  local mode = kong.request.get_header("X-Mode")
  if mode == "error" then
    error("boom")
  elseif mode == "loop" then
    while true do end
  elseif mode == "alloc" then
    local t = {}
    local i = 0
    while true do
      i = i + 1
      t[i] = string.rep("x", 1024) .. i
    end
  elseif mode == "missing" then
    kong.request.get_everything()
  elseif mode == "phase" then
    kong.response.get_raw_body()
  end
end
return H
