-- trivial: the smallest useful access handler (benchmarks).
local Trivial = { PRIORITY = 1, VERSION = "1.0.0" }

function Trivial:access(conf)
  kong.service.request.set_header(conf.header, conf.value)
end

return Trivial
