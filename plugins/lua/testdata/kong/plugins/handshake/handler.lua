-- handshake: the certificate phase. It logs each TLS handshake, or fails
-- it when configured to.
local Handshake = { PRIORITY = 5, VERSION = "1.0.0" }

function Handshake:certificate(conf)
  if conf.fail then
    error("handshake refused")
  end
  kong.log.notice("TLS handshake seen by node ", kong.node.get_id())
end

return Handshake
