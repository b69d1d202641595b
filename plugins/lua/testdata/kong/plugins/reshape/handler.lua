-- reshape: the response phase. It replaces the upstream's answer with a
-- 299 wrapping its body.
local Reshape = { PRIORITY = 5, VERSION = "1.0.0" }

function Reshape:response(conf)
  local body = kong.service.response.get_raw_body()
  kong.response.set_header("X-Reshaped", "response")
  kong.response.exit(299, "[" .. body .. "]")
end

return Reshape
