local typedefs = require "kong.db.schema.typedefs"

return {
  name = "header-gate",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { header_name = typedefs.header_name { required = true, default = "X-Gate" } },
          { header_value = { type = "string", required = true } },
          { require_header = typedefs.header_name },
          { deny_status = { type = "integer", default = 403, between = { 400, 499 } } },
          { deny_message = { type = "string", default = "Forbidden", len_min = 1 } },
        },
    } },
  },
}
