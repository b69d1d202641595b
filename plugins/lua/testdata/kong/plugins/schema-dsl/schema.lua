local typedefs = require "kong.db.schema.typedefs"
return {
  name = "schema-dsl",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { mode = { type = "string", one_of = { "fast", "safe" }, default = "safe", required = true } },
          { limit = { type = "integer", between = { 1, 100 }, default = 10 } },
          { name = { type = "string", len_min = 3, match = "^%a+$" } },
          { prefix = { type = "string", starts_with = "/" } },
          { tags = { type = "array", elements = { type = "string" }, default = {} } },
          { labels = { type = "map", keys = { type = "string" }, values = { type = "integer" } } },
          { upstream = { type = "record", fields = {
              { host = typedefs.host { default = "example.com" } },
              { port = typedefs.port { default = 80 } },
          } } },
          { a = { type = "string" } },
          { b = { type = "string" } },
          { even = { type = "integer", custom_validator = function(v)
              if v % 2 == 0 then return true end
              return nil, "must be even"
            end } },
        },
    } },
  },
  entity_checks = {
    { only_one_of = { "config.a", "config.b" } },
    { conditional = {
        if_field = "config.mode", if_match = { eq = "fast" },
        then_field = "config.limit", then_match = { between = { 50, 100 } },
    } },
  },
}
