-- json-validator: checks that JSON request bodies parse and carry the
-- configured fields, before they reach the service.
local cjson = require "cjson.safe"

local JSONValidator = {
  PRIORITY = 800,
  VERSION = "0.2.0",
}

local function applies(conf, method)
  for _, m in ipairs(conf.methods) do
    if m == method then
      return true
    end
  end
  return false
end

function JSONValidator:access(conf)
  if not applies(conf, kong.request.get_method()) then
    return
  end
  local raw, err = kong.request.get_raw_body()
  if not raw then
    kong.log.warn("body not available: ", err)
    return kong.response.exit(413, { message = "Request body too large" })
  end
  if #raw > conf.max_body_bytes then
    return kong.response.exit(413, { message = "Request body too large" })
  end
  local body = cjson.decode(raw)
  if type(body) ~= "table" then
    return kong.response.exit(400, { message = "Invalid JSON body" })
  end
  local missing = {}
  for _, field in ipairs(conf.required_fields) do
    if body[field] == nil or body[field] == cjson.null then
      missing[#missing + 1] = field
    end
  end
  if #missing > 0 then
    kong.log.info("refused a body without ", table.concat(missing, ", "))
    return kong.response.exit(422, { message = "Missing fields", fields = missing })
  end
  if conf.echo_field and body[conf.echo_field] ~= nil then
    kong.service.request.set_header("X-Validated-" .. conf.echo_field, tostring(body[conf.echo_field]))
  end
end

return JSONValidator
