-- shout: the body_filter phase. It upper-cases the answer's body.
local Shout = { PRIORITY = 5, VERSION = "1.0.0" }

function Shout:body_filter(conf)
  kong.response.set_raw_body(string.upper(kong.response.get_raw_body()))
end

return Shout
