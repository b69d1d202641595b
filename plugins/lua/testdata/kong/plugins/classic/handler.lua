local BasePlugin = require "kong.plugins.base_plugin"
local Classic = BasePlugin:extend()
Classic.PRIORITY = 4
Classic.VERSION = "0.1.0"
function Classic:new()
  Classic.super.new(self, "classic")
end
function Classic:access(conf)
  Classic.super.access(self)
  kong.service.request.set_header("X-Classic", self:get_name())
end
return Classic
