local util = require "kong.plugins.schema-dsl.util"
return { PRIORITY = 3, VERSION = "2.1", access = function(self, conf) util.mark(conf) end }
