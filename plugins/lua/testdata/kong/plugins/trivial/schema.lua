return {
  name = "trivial",
  fields = {
    { config = { type = "record", fields = {
      { header = { type = "string", default = "X-Trivial" } },
      { value = { type = "string", default = "1" } },
    } } },
  },
}
