-- to-https: sends the request to the service over TLS whatever its
-- protocol (kong.service.request.set_scheme).
local ToHTTPS = { PRIORITY = 5, VERSION = "1.0.0" }

function ToHTTPS:access(conf)
  kong.service.request.set_scheme("https")
end

return ToHTTPS
