return {
  name = "handshake",
  fields = {
    { config = { type = "record", fields = {
      { fail = { type = "boolean", default = false } },
    } } },
  },
}
