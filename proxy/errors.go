package proxy

// Kong's messages for answers the proxy makes itself
// (kong/runloop/handler.lua, kong/init.lua and nginx's error pages as Kong
// configures them).
const (
	msgNoRoute         = "no Route matched with those values"
	msgNoService       = "no Service found with those values"
	msgUseHTTPS        = "Please use HTTPS protocol"
	msgUseHTTP2        = "Please use HTTP2 protocol"
	msgNotGRPC         = "Non-gRPC request matched gRPC route"
	msgBadGateway      = "An invalid response was received from the upstream server"
	msgTimeout         = "The upstream server is timing out"
	msgNoPeer          = "failure to get a peer from the ring-balancer"
	msgNameResolution  = "name resolution failed"
	msgBodyTooLarge    = "Request size limit exceeded"
	msgBadRequest      = "Bad request"
	msgServiceDisabled = "Service unavailable"
)
