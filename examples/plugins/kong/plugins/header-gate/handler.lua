-- header-gate: adds a header to the upstream request and to the answer,
-- and turns away requests that lack a required header.
local HeaderGate = {
  PRIORITY = 900,
  VERSION = "1.0.0",
}

function HeaderGate:access(conf)
  if conf.require_header and not kong.request.get_header(conf.require_header) then
    return kong.response.exit(conf.deny_status, { message = conf.deny_message })
  end
  kong.service.request.set_header(conf.header_name, conf.header_value)
  kong.ctx.plugin.started = ngx.now()
end

function HeaderGate:header_filter(conf)
  kong.response.set_header(conf.header_name, conf.header_value)
  kong.response.set_header("X-Gate-Source", kong.response.get_source())
end

return HeaderGate
