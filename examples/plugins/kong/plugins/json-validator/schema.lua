local typedefs = require "kong.db.schema.typedefs"

return {
  name = "json-validator",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { required_fields = { type = "array", elements = { type = "string", match = "^[%w_]+$" }, default = {} } },
          { methods = { type = "set", elements = typedefs.http_method, default = { "POST", "PUT", "PATCH" } } },
          { max_body_bytes = { type = "integer", default = 65536, between = { 1, 1048576 } } },
          { echo_field = { type = "string" } },
          { strict = { type = "boolean", default = false } },
        },
    } },
  },
  entity_checks = {
    { at_least_one_of = { "config.required_fields", "config.echo_field" } },
    { conditional = {
        if_field = "config.strict", if_match = { eq = true },
        then_field = "config.echo_field", then_match = { required = true },
    } },
  },
}
